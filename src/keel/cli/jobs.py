"""``keel jobs``: what an operator needs when background work goes wrong.

``list`` shows the queue; ``retry`` gives a ``dead`` job a fresh set of attempts. A retry is
an operator's change to the system, so it is audited in the same transaction (GUIDE §3.5):
the audit entry exists exactly when the job was requeued.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from keel.cli.output import (
    USAGE,
    database_errors,
    fail,
    help_when_bare,
    load_settings,
    stdout_console,
)

if TYPE_CHECKING:
    from keel.config import Settings
    from keel.kit.jobs.models import Job

app = typer.Typer(help="Inspect and retry background jobs.")
app.callback(invoke_without_command=True)(help_when_bare)


class Status(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    dead = "dead"


class RetryRefused(Exception):
    """The job cannot be retried; the message says why."""


@app.command("list")
def list_jobs(
    dead: Annotated[bool, typer.Option("--dead", help="Only dead jobs (--status dead).")] = False,
    status: Annotated[Status | None, typer.Option(help="Only jobs in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Newest N jobs.")] = 50,
) -> None:
    """List the newest jobs: id, name, status, attempts, when due and the last error."""
    if dead and status not in (None, Status.dead):
        fail(f"--dead and --status {status.value if status else ''} contradict", code=USAGE)
    wanted = Status.dead if dead else status
    settings = load_settings()
    with database_errors(settings, "read jobs"):
        jobs = asyncio.run(_fetch(settings, None if wanted is None else wanted.value, limit))
    _print_table(jobs)


@app.command("retry")
def retry(
    job_id: Annotated[
        uuid.UUID,
        typer.Argument(metavar="JOB_ID", help="Id of a dead job (see `keel jobs list`)."),
    ],
) -> None:
    """Requeue a dead job with a fresh set of attempts, due now (audited as job.retried)."""
    settings = load_settings()
    with database_errors(settings, "retry the job"):
        try:
            asyncio.run(_requeue(settings, job_id))
        except RetryRefused as exc:
            fail(str(exc))
    typer.echo(f"Job {job_id} requeued.")


async def _fetch(settings: Settings, status: str | None, limit: int) -> list[Job]:
    from keel.kit.db import standalone_transaction
    from keel.kit.jobs import repository

    async with standalone_transaction(settings) as session:
        return await repository.list_jobs(session, status=status, limit=limit)


async def _requeue(settings: Settings, job_id: uuid.UUID) -> None:
    from keel.access.schemas import Actor
    from keel.audit import service as audit_service
    from keel.audit.schemas import Target
    from keel.kit import clock
    from keel.kit.db import standalone_transaction
    from keel.kit.jobs import repository
    from keel.kit.jobs.models import DEAD

    async with standalone_transaction(settings) as session:
        job = await repository.get(session, job_id)
        if job is None:
            raise RetryRefused(f"no job with id {job_id}")
        if job.status != DEAD or not await repository.requeue(session, job_id, now=clock.now()):
            raise RetryRefused(f"job {job_id} is {job.status}, not dead; only dead jobs retry")
        target = Target("job", str(job_id))
        await audit_service.record(session, Actor.system("cli"), "job.retried", target=target)


def _print_table(jobs: Sequence[Job]) -> None:
    from rich.table import Table
    from rich.text import Text

    console = stdout_console()
    if not jobs:
        console.print("No jobs.")
        return
    table = Table("id", "name", "status", "attempts", "run_at (UTC)", "last error")
    for job in jobs:
        cells = (
            str(job.id),
            job.name,
            job.status,
            str(job.attempts),
            job.run_at.strftime("%Y-%m-%d %H:%M:%S"),
            error_summary(job.last_error),
        )
        table.add_row(*(Text(cell) for cell in cells))  # Text: "[x]" in an error is not markup
    console.print(table)


def error_summary(error: str | None) -> str:
    """The line that names the error. Stored errors are tracebacks, whose FIRST line is
    always "Traceback (most recent call last):", so for those it is the last line."""
    lines = [line.strip() for line in (error or "").splitlines() if line.strip()]
    if not lines:
        return ""
    return lines[-1] if lines[0].startswith("Traceback") else lines[0]
