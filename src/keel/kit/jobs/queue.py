"""Enqueueing: a job row written in the caller's transaction, so it exists only if the
change that caused it commits."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from keel.kit.ids import new_id
from keel.kit.jobs import repository

if TYPE_CHECKING:
    from keel.kit.deps import Resources


@dataclass(frozen=True)
class JobContext:
    job_id: uuid.UUID
    name: str
    attempt: int
    resources: Resources


JobHandler = Callable[[AsyncSession, dict[str, Any], JobContext], Awaitable[None]]

_ENQUEUED = "keel.jobs.enqueued"
# Workers in this process wait on these; a commit that enqueued jobs wakes them at once
# instead of leaving the job to the next poll.
_local_wakeups: set[asyncio.Event] = set()


async def enqueue(
    session: AsyncSession,
    name: str,
    payload: dict[str, Any],
    *,
    run_at: datetime | None = None,
    max_attempts: int | None = None,
    dedupe_key: str | None = None,
) -> uuid.UUID | None:
    """Queue ``name`` with a JSON ``payload``. With a ``dedupe_key`` that was already used,
    nothing is queued and ``None`` is returned (idempotent enqueue)."""
    job_id = new_id()
    inserted = await repository.insert(
        session,
        job_id=job_id,
        name=name,
        payload=payload,
        run_at=run_at,
        max_attempts=max_attempts,
        dedupe_key=dedupe_key,
    )
    if not session.info.get(_ENQUEUED):
        # First job of this transaction: on PostgreSQL, wake workers in other processes
        # when (and only if) it commits.
        await repository.notify_workers(session)
    session.info[_ENQUEUED] = True
    return job_id if inserted else None


async def release_dedupe_key(session: AsyncSession, job_id: uuid.UUID) -> None:
    """Free a job's ``dedupe_key`` for the next enqueue, for coalescing jobs ("one queued
    run per X"): the job calls this as it starts, so work that arrives while it runs queues
    a fresh run instead of being folded into the one already under way."""
    await repository.release_dedupe_key(session, job_id)


def register_wakeup(wakeup: asyncio.Event) -> None:
    _local_wakeups.add(wakeup)


def unregister_wakeup(wakeup: asyncio.Event) -> None:
    _local_wakeups.discard(wakeup)


@event.listens_for(Session, "after_commit")
def _wake_local_workers(session: Session) -> None:
    if session.info.pop(_ENQUEUED, False):
        for wakeup in _local_wakeups:
            wakeup.set()


@event.listens_for(Session, "after_rollback")
def _forget_enqueued(session: Session) -> None:
    session.info.pop(_ENQUEUED, None)
