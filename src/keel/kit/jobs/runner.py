"""The job runner: claims due jobs, runs each in its own transaction, records the outcome.

One job is one transaction (GUIDE §3.1): the handler's writes and the ``done`` mark commit
together, so a handler's database effects happen exactly once even though delivery is at
least once. Effects outside the database (mail, HTTP) may repeat and must be idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from keel.kit import clock, metrics
from keel.kit.deps import Resources
from keel.kit.jobs import queue, repository, rules
from keel.kit.jobs.queue import JobContext, JobHandler

log = structlog.get_logger("kit.jobs")

MAINTENANCE_EVERY = 15.0

#: Called once a job is parked as ``dead`` (its failure committed), with the job and its last
#: exception; ``keel.worker`` gives one that publishes ``error.detected``.
DeadJobHook = Callable[["repository.Claimed", Exception], Awaitable[None]]


class LeaseLost(Exception):
    """Another worker claimed this job after our lease ran out; our work is rolled back."""


class UnknownJob(Exception):
    """No handler is registered for the job's name in ``keel/worker.py``."""


@dataclass(frozen=True)
class Periodic:
    """A job queued once per ``every`` across all workers (the time slot is its dedupe key)."""

    name: str
    every: timedelta
    payload: dict[str, Any] = field(default_factory=dict)

    def slot_key(self, now: datetime) -> str:
        slot = int(now.timestamp() // self.every.total_seconds())
        return f"periodic:{self.name}:{slot}"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Runner:
    def __init__(
        self,
        resources: Resources,
        handlers: Mapping[str, JobHandler],
        *,
        periodic: Sequence[Periodic] = (),
        name: str | None = None,
        now: Callable[[], datetime] = clock.now,
        on_dead: DeadJobHook | None = None,
    ) -> None:
        self.resources = resources
        self.on_dead = on_dead
        self.handlers = handlers
        self.periodic = periodic
        self.now = now
        self.name = name or worker_name()
        self.config = resources.settings.jobs
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._listen_task: asyncio.Task[None] | None = None
        self._last_maintenance = 0.0

    async def start(self) -> None:
        queue.register_wakeup(self._wakeup)
        self._loop_task = asyncio.create_task(self.run_forever(), name=f"jobs:{self.name}")
        engine = self.resources.database.engine
        if self.config.listen and engine.dialect.name == "postgresql":
            self._listen_task = asyncio.create_task(self._listen(), name=f"jobs:{self.name}:listen")
        log.info("jobs.worker_started", worker=self.name, concurrency=self.config.concurrency)

    async def stop(self, *, grace: float = 10.0) -> None:
        """Stop claiming, give running jobs ``grace`` seconds, then cancel them (a cancelled
        job is rolled back and runs again when its lease expires)."""
        self._stopping.set()
        self._wakeup.set()
        queue.unregister_wakeup(self._wakeup)
        if self._listen_task is not None:
            self._listen_task.cancel()
            await asyncio.gather(self._listen_task, return_exceptions=True)
        if self._loop_task is not None:
            await self._loop_task
        if self._inflight:
            _, pending = await asyncio.wait(self._inflight, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        log.info("jobs.worker_stopped", worker=self.name)

    async def run_forever(self) -> None:
        while not self._stopping.is_set():
            claimed = await self._claim_and_spawn()
            await self._maybe_maintain()
            if claimed and len(self._inflight) < self.config.concurrency:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.config.poll_interval)
            self._wakeup.clear()

    async def _listen(self) -> None:
        """Hold one connection that LISTENs for enqueues committed by other processes. Polling
        stays on underneath, so a lost connection only costs latency until it is back."""
        while not self._stopping.is_set():
            try:
                await self._listen_until_lost()
            except Exception:
                log.warning("jobs.listen_failed", worker=self.name, exc_info=True)
            await asyncio.sleep(self.config.poll_interval * 5)

    async def _listen_until_lost(self) -> None:
        async with self.resources.database.engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            if raw is None:
                raise RuntimeError("the database connection was closed before LISTEN")
            lost = asyncio.Event()
            raw.add_termination_listener(lambda _conn: lost.set())
            await raw.add_listener(repository.NOTIFY_CHANNEL, self._notified)
            try:
                await lost.wait()
            finally:
                # The connection goes back to the pool: it must stop listening.
                await raw.remove_listener(repository.NOTIFY_CHANNEL, self._notified)

    def _notified(self, *_args: object) -> None:
        self._wakeup.set()

    async def run_once(self) -> int:
        """Claim what is due now and run it to the end; for tests and operators."""
        jobs = await self._claim(self.config.concurrency)
        await asyncio.gather(*(self.execute(job) for job in jobs))
        return len(jobs)

    async def _claim_and_spawn(self) -> int:
        free = self.config.concurrency - len(self._inflight)
        if free <= 0:
            return 0
        try:
            jobs = await self._claim(free)
        except Exception as exc:
            if isinstance(exc, OperationalError) and _busy(exc):
                # SQLite held by another writer past its busy timeout: the next tick claims
                # again, so this is a wait, not a failure.
                log.warning("jobs.claim_busy", worker=self.name)
            else:
                log.exception("jobs.claim_failed", worker=self.name)
            return 0
        for job in jobs:
            task = asyncio.create_task(self.execute(job), name=f"job:{job.name}:{job.id}")
            self._inflight.add(task)
            task.add_done_callback(self._finished)
        return len(jobs)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wakeup.set()

    async def _claim(self, limit: int) -> list[repository.Claimed]:
        lease = timedelta(seconds=self.config.lease_seconds)
        async with self.resources.database.transaction() as session:
            return await repository.claim(
                session, worker=self.name, now=self.now(), limit=limit, lease=lease
            )

    async def execute(self, job: repository.Claimed) -> None:
        started = time.perf_counter()
        bound = log.bind(job_id=str(job.id), job=job.name, attempt=job.attempt)
        try:
            async with asyncio.timeout(self.config.lease_seconds):
                await self._run_handler(job)
        except LeaseLost:
            bound.warning("jobs.lease_lost", worker=self.name)
            metrics.JOBS_PROCESSED.labels(job.name, "lease_lost").inc()
        except Exception as exc:
            await self._record_failure(job, exc, bound)
        else:
            bound.info("jobs.done", duration_ms=round((time.perf_counter() - started) * 1000, 2))
            metrics.JOBS_PROCESSED.labels(job.name, "done").inc()
        finally:
            metrics.JOB_DURATION.labels(job.name).observe(time.perf_counter() - started)

    async def _run_handler(self, job: repository.Claimed) -> None:
        handler = self.handlers.get(job.name)
        if handler is None:
            raise UnknownJob(f"no handler is registered for job {job.name!r}")
        context = JobContext(job.id, job.name, job.attempt, self.resources)
        async with self.resources.database.transaction() as session:
            await handler(session, job.payload, context)
            if not await repository.mark_done(session, job, worker=self.name, now=self.now()):
                raise LeaseLost(str(job.id))

    async def _record_failure(self, job: repository.Claimed, exc: Exception, bound: Any) -> None:
        now = self.now()
        limit = job.max_attempts or self.config.max_attempts
        retry_at = None
        if not rules.is_exhausted(job.attempt, limit):
            delay = rules.retry_delay(
                job.attempt, base=self.config.backoff_base, cap=self.config.backoff_max
            )
            retry_at = now + timedelta(seconds=delay)
        error = "".join(traceback.format_exception(exc, limit=-8))
        try:
            async with self.resources.database.transaction() as session:
                await repository.mark_failed(
                    session, job, worker=self.name, now=now, error=error, retry_at=retry_at
                )
        except Exception:
            bound.exception("jobs.record_failure_failed")
            return
        outcome = "retry" if retry_at else "dead"
        metrics.JOBS_PROCESSED.labels(job.name, outcome).inc()
        if retry_at is None:
            bound.error("jobs.dead", error=f"{type(exc).__name__}: {exc}", attempts=job.attempt)
            await self._dead(job, exc, bound)
        else:
            bound.warning(
                "jobs.retry_scheduled", error=f"{type(exc).__name__}: {exc}", retry_at=retry_at
            )

    async def _dead(self, job: repository.Claimed, exc: Exception, bound: Any) -> None:
        if self.on_dead is None:
            return
        try:
            await self.on_dead(job, exc)
        except Exception:
            bound.exception("jobs.on_dead_failed")

    async def _maybe_maintain(self) -> None:
        if time.monotonic() - self._last_maintenance < MAINTENANCE_EVERY:
            return
        self._last_maintenance = time.monotonic()
        try:
            async with self.resources.database.transaction() as session:
                await self._schedule_periodic(session)
                await self._update_gauges(session)
        except Exception:
            log.exception("jobs.maintenance_failed", worker=self.name)

    async def _schedule_periodic(self, session: AsyncSession) -> None:
        now = self.now()
        for item in self.periodic:
            await queue.enqueue(session, item.name, item.payload, dedupe_key=item.slot_key(now))

    async def _update_gauges(self, session: AsyncSession) -> None:
        now = self.now()
        for status, count in (await repository.count_by_status(session)).items():
            metrics.JOB_QUEUE_DEPTH.labels(status).set(count)
        oldest = await repository.oldest_due_run_at(session, now=now)
        metrics.OUTBOX_LAG.set(0 if oldest is None else (now - oldest).total_seconds())


async def purge_finished(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
    """Periodic job ``jobs.purge``: drop ``done`` jobs older than KEEL_JOBS__KEEP_DONE_DAYS."""
    days = ctx.resources.settings.jobs.keep_done_days
    removed = await repository.purge_done(session, before=clock.now() - timedelta(days=days))
    log.info("jobs.purged", removed=removed)


def _busy(exc: OperationalError) -> bool:
    """SQLite's "database is locked" (SQLITE_BUSY after the busy timeout)."""
    return "database is locked" in str(exc.orig)
