"""Every query on the ``jobs`` table."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from keel.kit import clock
from keel.kit.jobs.models import DEAD, DONE, QUEUED, RUNNING, Job

_ERROR_LIMIT = 4000


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    name: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int | None  # None: the worker's KEEL_JOBS__MAX_ATTEMPTS


async def insert(
    session: AsyncSession,
    *,
    job_id: uuid.UUID,
    name: str,
    payload: dict[str, Any],
    run_at: datetime | None,
    max_attempts: int | None,
    dedupe_key: str | None,
) -> bool:
    now = clock.now()
    values = {
        "id": job_id,
        "name": name,
        "payload": payload,
        "status": QUEUED,
        "attempts": 0,
        "max_attempts": max_attempts,
        "run_at": run_at or now,
        "dedupe_key": dedupe_key,
        "created_at": now,
        "updated_at": now,
    }
    dialect = session.get_bind().dialect.name
    builder = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = builder(Job).values(**values)
    if dedupe_key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["dedupe_key"])
    result = await session.execute(stmt)
    return bool(getattr(result, "rowcount", 1))


async def release_dedupe_key(session: AsyncSession, job_id: uuid.UUID) -> None:
    stmt = (
        update(Job)
        .where(Job.id == job_id)
        .values(dedupe_key=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(stmt)


NOTIFY_CHANNEL = "keel_jobs"


async def notify_workers(session: AsyncSession) -> None:
    """``NOTIFY`` is transactional on PostgreSQL: delivered at commit, dropped on rollback.
    SQLite has no such thing; its workers are woken in-process (see ``queue``)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_notify(NOTIFY_CHANNEL, "")))


async def claim(
    session: AsyncSession, *, worker: str, now: datetime, limit: int, lease: timedelta
) -> list[Claimed]:
    """Take up to ``limit`` due jobs (and jobs whose worker's lease ran out). On PostgreSQL
    ``SKIP LOCKED`` lets workers claim side by side; SQLite serialises writers anyway."""
    due = (
        select(Job.id)
        .where(
            or_(
                and_(Job.status == QUEUED, Job.run_at <= now),
                and_(Job.status == RUNNING, Job.locked_until < now),
            )
        )
        .order_by(Job.run_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(Job)
        .where(Job.id.in_(due.scalar_subquery()))
        .values(
            status=RUNNING,
            locked_by=worker,
            locked_until=now + lease,
            attempts=Job.attempts + 1,
            updated_at=now,
        )
        .returning(Job.id, Job.name, Job.payload, Job.attempts, Job.max_attempts)
        .execution_options(synchronize_session=False)
    )
    rows = (await session.execute(stmt)).all()
    return [Claimed(r.id, r.name, r.payload, r.attempts, r.max_attempts) for r in rows]


def _fenced(job: Claimed, worker: str) -> Any:
    return and_(Job.id == job.id, Job.locked_by == worker, Job.attempts == job.attempt)


async def mark_done(session: AsyncSession, job: Claimed, *, worker: str, now: datetime) -> bool:
    """False when this worker no longer holds the job (its lease ran out and it was
    claimed again): the caller must then roll back its work."""
    stmt = (
        update(Job)
        .where(_fenced(job, worker))
        .values(status=DONE, finished_at=now, locked_by=None, locked_until=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(await session.execute(stmt), "rowcount", 0))


async def mark_failed(
    session: AsyncSession,
    job: Claimed,
    *,
    worker: str,
    now: datetime,
    error: str,
    retry_at: datetime | None,
) -> bool:
    """Back to ``queued`` at ``retry_at``, or ``dead`` when ``retry_at`` is None."""
    values: dict[str, Any] = {
        "last_error": error[:_ERROR_LIMIT],
        "locked_by": None,
        "locked_until": None,
        "updated_at": now,
    }
    if retry_at is None:
        values.update(status=DEAD, finished_at=now)
    else:
        values.update(status=QUEUED, run_at=retry_at)
    stmt = (
        update(Job)
        .where(_fenced(job, worker))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(await session.execute(stmt), "rowcount", 0))


async def get(session: AsyncSession, job_id: uuid.UUID) -> Job | None:
    return await session.get(Job, job_id)


async def list_jobs(
    session: AsyncSession, *, status: str | None = None, limit: int = 50
) -> list[Job]:
    stmt = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(Job.status == status)
    return list((await session.scalars(stmt)).all())


async def requeue(session: AsyncSession, job_id: uuid.UUID, *, now: datetime) -> bool:
    """Give a dead job a fresh set of attempts, due now."""
    stmt = (
        update(Job)
        .where(Job.id == job_id, Job.status == DEAD)
        .values(status=QUEUED, attempts=0, run_at=now, finished_at=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(await session.execute(stmt), "rowcount", 0))


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    stmt = (
        select(Job.status, func.count())
        .where(Job.status.in_([QUEUED, RUNNING, DEAD]))
        .group_by(Job.status)
    )
    counts = dict.fromkeys((QUEUED, RUNNING, DEAD), 0)
    counts.update({status: int(n) for status, n in (await session.execute(stmt)).all()})
    return counts


async def oldest_due_run_at(session: AsyncSession, *, now: datetime) -> datetime | None:
    stmt = select(func.min(Job.run_at)).where(Job.status == QUEUED, Job.run_at <= now)
    value: datetime | None = await session.scalar(stmt)
    return value


async def purge_done(session: AsyncSession, *, before: datetime) -> int:
    stmt = delete(Job).where(Job.status == DONE, Job.finished_at < before)
    return int(getattr(await session.execute(stmt), "rowcount", 0))
