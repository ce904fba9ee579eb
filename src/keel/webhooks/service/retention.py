"""Retention of the delivery log: the daily ``webhooks.purge`` job.

Deliveries finished more than ``log_retention_days`` ago go with their attempts, then the
messages no delivery refers to any more. A delivery an enabled endpoint may still retry is
never touched, however old.

Why a transaction per batch, not the job's one: a backlog of millions of rows deleted in one
transaction would hold its row locks and undo for minutes on PostgreSQL, and on SQLite the
database's single write lock, stalling every request. Each batch of ``BATCH_SIZE`` commits on
its own, so a run cut short keeps what it deleted and the next run carries on; deleting is
idempotent, so nothing is lost by a batch committing before the job does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from keel.kit import clock, tenancy
from keel.kit.db import Database
from keel.webhooks import repository

PURGE_JOB = "webhooks.purge"
#: Rows one DELETE removes (a delivery's attempts go with it).
BATCH_SIZE = 1000
#: Between batches: lets writers waiting for SQLite's single write lock take it (its busy
#: handler polls, so back-to-back batches would win every race: bench/webhooks_purge.py).
PAUSE_SECONDS = 0.02


@dataclass(frozen=True)
class Purged:
    deliveries: int
    messages: int
    #: False when the time budget ran out with rows left to delete.
    finished: bool


class _Purge(Protocol):
    def __call__(
        self, session: AsyncSession, *, before: datetime, limit: int
    ) -> Awaitable[int]: ...


async def purge_log(
    database: Database,
    *,
    retention_days: int,
    budget_seconds: float,
    batch_size: int = BATCH_SIZE,
    pause_seconds: float = PAUSE_SECONDS,
) -> Purged:
    """Batches until none is left or ``budget_seconds`` have passed (one batch at least), so
    the job ends well within its lease."""
    before = clock.now() - timedelta(days=retention_days)
    deadline = time.monotonic() + budget_seconds
    pace = _Pace(limit=batch_size, pause=pause_seconds, deadline=deadline)
    deliveries, done = await _in_batches(database, repository.purge_deliveries, before, pace)
    if not done:
        return Purged(deliveries, 0, finished=False)
    messages, done = await _in_batches(database, repository.purge_messages, before, pace)
    return Purged(deliveries, messages, finished=done)


@dataclass(frozen=True)
class _Pace:
    limit: int
    pause: float
    deadline: float


async def _in_batches(
    database: Database, purge: _Purge, before: datetime, pace: _Pace
) -> tuple[int, bool]:
    """(rows deleted, whether none is left)."""
    total = 0
    while True:
        async with database.transaction() as session:
            await tenancy.enter_platform(
                session, reason="webhooks.purge deletes every tenant's expired delivery log"
            )
            deleted = await purge(session, before=before, limit=pace.limit)
        total += deleted
        if deleted < pace.limit:
            return total, True
        if time.monotonic() >= pace.deadline:
            return total, False
        await asyncio.sleep(pace.pause)
