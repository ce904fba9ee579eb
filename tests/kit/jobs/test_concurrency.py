"""Guarantees that need real commits and separate connections: workers racing for the same
queue, and a worker process killed in the middle of a job."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit import service as audit_service
from keel.audit.models import AuditLog
from keel.kit import jobs
from keel.kit.db import Database, create_engine
from keel.kit.deps import Resources
from keel.kit.jobs import JobContext, queue
from keel.kit.jobs.models import DONE, RUNNING
from tests.conftest import TEST_SECRET, requires_postgres
from tests.helpers.jobs import FakeClock, all_jobs, job_state, runner

JOB_COUNT = 120


async def wait_until_done(database: Database, expected: int, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if sum(job.status == DONE for job in await all_jobs(database)) == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"jobs not done after {within} s")


async def test_two_workers__race_on_one_queue__each_job_runs_once(
    committed_resources: Resources,
) -> None:
    # Given many queued jobs and two workers, each with its own engine (as two processes)
    handled: list[tuple[int, int]] = []

    async def handler(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        await audit_service.record(session, Actor.system(ctx.resources.settings.env), "thing.done")
        handled.append((payload["n"], id(ctx.resources)))
        await asyncio.sleep(0.001)

    async with committed_resources.database.transaction() as session:
        for n in range(JOB_COUNT):
            await jobs.enqueue(session, "test.race", {"n": n})
    workers = []
    for name in ("w1", "w2"):
        own = Database(create_engine(committed_resources.settings))
        live = Resources(
            committed_resources.settings,
            own,
            committed_resources.cache,
            committed_resources.broadcast,
        )
        workers.append(
            runner(live, {"test.race": handler}, name=name, concurrency=4, poll_interval=0.02)
        )

    # When both run side by side
    for worker in workers:
        await worker.start()
    try:
        await wait_until_done(committed_resources.database, JOB_COUNT)
    finally:
        for worker in workers:
            await worker.stop()
            await worker.resources.database.dispose()

    # Then every job ran exactly once, on the first attempt, and both workers took part
    assert sorted(n for n, _ in handled) == list(range(JOB_COUNT))
    assert len({worker for _, worker in handled}) == 2
    done = await all_jobs(committed_resources.database, name="test.race")
    assert {job.attempts for job in done} == {1}
    async with committed_resources.database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(AuditLog)) == JOB_COUNT


_DOOMED_WORKER = textwrap.dedent(
    """
    import asyncio

    from keel.config import Settings
    from keel.kit.deps import open_resources
    from keel.kit.jobs.runner import Runner


    async def sleepy(session, payload, ctx):
        print("started", flush=True)
        await asyncio.sleep(3600)


    async def main():
        runner = Runner(open_resources(Settings()), {"test.sleepy": sleepy}, name="doomed")
        await runner.run_once()


    asyncio.run(main())
    """
)


async def test_worker_killed_mid_job__job_reclaimed_after_lease_and_completed(
    committed_resources: Resources,
) -> None:
    # Given a job, and a worker process that takes it and hangs
    async with committed_resources.database.transaction() as session:
        job_id = await jobs.enqueue(session, "test.sleepy", {})
    assert isinstance(job_id, uuid.UUID)
    env = {
        **os.environ,
        "KEEL_ENV": "test",
        "KEEL_SECRET_KEY": TEST_SECRET,
        "KEEL_DATABASE__URL": committed_resources.settings.database_url,
        "KEEL_JOBS__LEASE_SECONDS": "30",
        "KEEL_LOG__LEVEL": "WARNING",
    }
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _DOOMED_WORKER, env=env, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        assert await asyncio.wait_for(child.stdout.readline(), 30) == b"started\n"
        running = await job_state(committed_resources.database, job_id)
        assert (running.status, running.locked_by, running.attempts) == (RUNNING, "doomed", 1)
        # When the worker is killed without any chance to clean up
        child.send_signal(signal.SIGKILL)
        await asyncio.wait_for(child.wait(), 10)
    finally:
        if child.returncode is None:
            child.kill()

    # Then another worker leaves it alone while the lease holds, and runs it after
    ran: list[int] = []

    async def quick(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        ran.append(ctx.attempt)

    now = FakeClock()
    survivor = runner(committed_resources, {"test.sleepy": quick}, now=now, lease_seconds=30)
    assert await survivor.run_once() == 0
    now.advance(seconds=31)
    assert await survivor.run_once() == 1
    finished = await job_state(committed_resources.database, job_id)
    assert (finished.status, finished.attempts) == (DONE, 2)
    assert ran == [2]


@requires_postgres
async def test_listen__enqueue_committed_elsewhere__wakes_idle_worker(
    committed_resources: Resources,
) -> None:
    # Given an idle worker that would only poll every 30 s, and that cannot be woken
    # in-process (as if the enqueue happened in another process)
    done = asyncio.Event()

    async def handler(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        done.set()

    own = Database(create_engine(committed_resources.settings))
    live = Resources(
        committed_resources.settings, own, committed_resources.cache, committed_resources.broadcast
    )
    worker = runner(live, {"test.job": handler}, poll_interval=30.0)
    await worker.start()
    queue.unregister_wakeup(worker._wakeup)
    try:
        await asyncio.sleep(0.3)  # the first poll is over and LISTEN is in place
        # When another connection commits a job
        async with committed_resources.database.transaction() as session:
            await jobs.enqueue(session, "test.job", {})
        # Then NOTIFY wakes the worker long before its next poll
        await asyncio.wait_for(done.wait(), timeout=5)
    finally:
        await worker.stop()
        await own.dispose()


@requires_postgres
async def test_listen__rolled_back_enqueue__no_wakeup(
    committed_resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    woken: list[object] = []
    own = Database(create_engine(committed_resources.settings))
    live = Resources(
        committed_resources.settings, own, committed_resources.cache, committed_resources.broadcast
    )
    worker = runner(live, {}, poll_interval=30.0)
    monkeypatch.setattr(worker, "_notified", lambda *args: woken.append(args))
    await worker.start()
    queue.unregister_wakeup(worker._wakeup)
    try:
        await asyncio.sleep(0.3)
        with pytest.raises(RuntimeError):
            async with committed_resources.database.transaction() as session:
                await jobs.enqueue(session, "test.job", {})
                raise RuntimeError("rolled back")
        await asyncio.sleep(0.5)
        assert woken == []
    finally:
        await worker.stop()
        await own.dispose()
