"""The job runner's promises: at-least-once delivery, retries with backoff, a dead state,
transactional enqueue, and exactly-once database effects per job."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit import service as audit_service
from keel.audit.models import AuditLog
from keel.kit import clock, jobs
from keel.kit.db import Database
from keel.kit.deps import Resources
from keel.kit.jobs import JobContext
from keel.kit.jobs.models import DEAD, DONE, QUEUED, RUNNING
from keel.kit.jobs.runner import Periodic
from keel.kit.logging import configure_logging
from tests.helpers.jobs import FakeClock, all_jobs, job_state, runner


class Flaky:
    """Fails ``failures`` times, then succeeds; records every call."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[int] = []

    async def __call__(
        self, session: AsyncSession, payload: dict[str, Any], ctx: JobContext
    ) -> None:
        self.calls.append(ctx.attempt)
        if len(self.calls) <= self.failures:
            raise ConnectionError(f"flaky failure {len(self.calls)}")


async def enqueue_one(database: Database, name: str = "test.job", **kwargs: Any) -> Any:
    async with database.transaction() as session:
        return await jobs.enqueue(session, name, {"n": 1}, **kwargs)


async def test_enqueue__rolled_back_transaction__leaves_no_job(database: Database) -> None:
    # Given a transaction that enqueues a job and then fails
    with pytest.raises(RuntimeError):
        async with database.transaction() as session:
            await jobs.enqueue(session, "test.job", {})
            raise RuntimeError("the change failed")
    # Then no job exists
    assert await all_jobs(database) == []


async def test_enqueue__dedupe_key_used_twice__queues_once(database: Database) -> None:
    first = await enqueue_one(database, dedupe_key="only-once")
    second = await enqueue_one(database, dedupe_key="only-once")
    assert first is not None and second is None
    assert len(await all_jobs(database)) == 1


async def test_handler__fails_twice_then_succeeds__done_after_three_attempts(
    resources: Resources, database: Database
) -> None:
    # Given a handler that fails twice
    flaky = Flaky(failures=2)
    job_id = await enqueue_one(database)
    now = FakeClock()
    worker = runner(resources, {"test.job": flaky}, now=now, backoff_base=10.0, backoff_max=1000.0)

    # When the worker runs it: the first attempt fails and is rescheduled 5-10 s later
    assert await worker.run_once() == 1
    job = await job_state(database, job_id)
    assert (job.status, job.attempts) == (QUEUED, 1)
    assert job.last_error is not None and "flaky failure 1" in job.last_error
    assert timedelta(seconds=5) <= job.run_at - now() <= timedelta(seconds=10)

    # And it is not due again before its time
    now.advance(seconds=4.9)
    assert await worker.run_once() == 0

    # When time passes: the second attempt fails and waits 10-20 s, the third succeeds
    now.advance(seconds=6)
    assert await worker.run_once() == 1
    job = await job_state(database, job_id)
    assert (job.status, job.attempts) == (QUEUED, 2)
    assert timedelta(seconds=10) <= job.run_at - now() <= timedelta(seconds=20)
    now.advance(seconds=20)
    assert await worker.run_once() == 1

    job = await job_state(database, job_id)
    assert (job.status, job.attempts) == (DONE, 3)
    assert flaky.calls == [1, 2, 3]
    assert job.finished_at is not None and job.locked_by is None


async def test_handler__always_fails__dead_after_max_attempts(
    resources: Resources, database: Database
) -> None:
    always = Flaky(failures=100)
    job_id = await enqueue_one(database)
    now = FakeClock()
    worker = runner(resources, {"test.job": always}, now=now, max_attempts=3)
    for _ in range(5):
        await worker.run_once()
        now.advance(hours=1)
    job = await job_state(database, job_id)
    assert (job.status, job.attempts) == (DEAD, 3)
    assert always.calls == [1, 2, 3]
    assert job.last_error is not None and "ConnectionError" in job.last_error


async def test_job_max_attempts__overrides_worker_setting(
    resources: Resources, database: Database
) -> None:
    worker = runner(resources, {"test.job": Flaky(failures=100)}, max_attempts=8)
    job_id = await enqueue_one(database, max_attempts=1)
    await worker.run_once()
    assert (await job_state(database, job_id)).status == DEAD


async def test_unknown_job_name__retried_then_dead_with_reason(
    resources: Resources, database: Database
) -> None:
    worker = runner(resources, {}, max_attempts=1)
    job_id = await enqueue_one(database, name="nobody.handles")
    await worker.run_once()
    job = await job_state(database, job_id)
    assert job.status == DEAD
    assert job.last_error is not None and "no handler is registered" in job.last_error


async def test_handler_failure__rolls_back_its_database_writes(
    resources: Resources, database: Database
) -> None:
    async def writes_then_fails(
        session: AsyncSession, payload: dict[str, Any], ctx: JobContext
    ) -> None:
        await audit_service.record(session, Actor.system("test"), "thing.touched")
        raise ValueError("after writing")

    await enqueue_one(database)
    await runner(resources, {"test.job": writes_then_fails}).run_once()
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(AuditLog)) == 0


async def test_lease_expired__job_reclaimed_and_late_worker_cannot_commit(
    resources: Resources, database: Database
) -> None:
    # Given worker A claimed a job and stalled past its lease
    effects: list[str] = []

    def recording(worker_name: str) -> Any:
        async def handler(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
            await audit_service.record(session, Actor.system(worker_name), "thing.touched")
            effects.append(worker_name)

        return handler

    job_id = await enqueue_one(database)
    now = FakeClock()
    a = runner(resources, {"test.job": recording("a")}, name="a", now=now, lease_seconds=30)
    b = runner(resources, {"test.job": recording("b")}, name="b", now=now, lease_seconds=30)
    [claimed] = await a._claim(1)

    # When worker B looks before the lease ran out, it leaves the job alone
    now.advance(seconds=29)
    assert await b.run_once() == 0
    # When worker B runs after the lease ran out
    now.advance(seconds=2)
    assert await b.run_once() == 1
    # And A wakes up and finishes its copy
    await a.execute(claimed)

    # Then the job is done once, by B, and A's writes were rolled back
    job = await job_state(database, job_id)
    assert (job.status, job.attempts) == (DONE, 2)
    assert effects == ["b", "a"]
    async with database.transaction() as session:
        actors = (await session.scalars(select(AuditLog.actor_id))).all()
    assert actors == ["b"]


async def test_periodic__same_slot_from_two_workers__queued_once(
    resources: Resources, database: Database
) -> None:
    periodic = Periodic("test.tick", every=timedelta(hours=1))
    for name in ("a", "b"):
        worker = runner(resources, {}, name=name)
        worker.periodic = (periodic,)
        async with database.transaction() as session:
            await worker._schedule_periodic(session)
    assert len(await all_jobs(database, name="test.tick")) == 1


async def test_running_job__visible_as_running_with_lease(
    resources: Resources, database: Database
) -> None:
    job_id = await enqueue_one(database)
    worker = runner(resources, {}, name="w1", lease_seconds=60)
    await worker._claim(1)
    job = await job_state(database, job_id)
    assert (job.status, job.locked_by, job.attempts) == (RUNNING, "w1", 1)
    assert job.locked_until is not None and job.locked_until > clock.now() + timedelta(seconds=50)


async def test_worker__enqueue_commit__wakes_in_process_worker_before_poll(
    committed_resources: Resources,
) -> None:
    # Given a running worker that would otherwise poll only every 30 s
    done = asyncio.Event()

    async def handler(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        done.set()

    worker = runner(committed_resources, {"test.job": handler}, poll_interval=30.0)
    await worker.start()
    try:
        await asyncio.sleep(0.1)  # the first idle poll has happened
        # When a transaction that enqueued a job commits
        await enqueue_one(committed_resources.database)
        # Then the worker runs it at once
        await asyncio.wait_for(done.wait(), timeout=5)
    finally:
        await worker.stop()


async def test_delayed_job__not_run_before_run_at(resources: Resources, database: Database) -> None:
    # Given a job scheduled an hour from now
    ran: list[int] = []

    async def handler(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        ran.append(ctx.attempt)

    now = FakeClock()
    job_id = await enqueue_one(database, run_at=now() + timedelta(hours=1))
    worker = runner(resources, {"test.job": handler}, now=now)
    # When the worker polls before and after that time
    now.advance(minutes=59)
    assert await worker.run_once() == 0
    now.advance(minutes=2)
    assert await worker.run_once() == 1
    # Then it ran once, at its time
    assert ran == [1]
    assert (await job_state(database, job_id)).status == DONE


@pytest.mark.parametrize(
    ("message", "level", "event"),
    [
        ("database is locked", "warning", "jobs.claim_busy"),
        ("disk I/O error", "error", "jobs.claim_failed"),
    ],
)
async def test_claim__database_error__logged_by_kind_and_loop_goes_on(
    resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    message: str,
    level: str,
    event: str,
) -> None:
    """A busy SQLite (another writer past the busy timeout) is a wait, logged without a
    traceback; any other database error is a failure with one. Either way the loop claims
    again on its next tick."""
    worker = runner(resources, {})

    async def refused(_limit: int) -> list[Any]:
        raise OperationalError("UPDATE jobs ...", {}, sqlite3.OperationalError(message))

    monkeypatch.setattr(worker, "_claim", refused)
    configure_logging(resources.settings)  # through the standard library, as a process logs
    caplog.set_level("WARNING", logger="kit.jobs")
    assert await worker._claim_and_spawn() == 0
    logged = [(r.msg, r) for r in caplog.records if isinstance(r.msg, dict)]
    [(entry, record)] = [
        (m, r) for m, r in logged if str(m.get("event", "")).startswith("jobs.claim")
    ]
    assert (entry["event"], record.levelname.lower()) == (event, level)
    assert (record.exc_info is not None) == (level == "error")
