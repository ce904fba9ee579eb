"""``idempotency.purge``: the periodic job that deletes expired keys."""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from keel.kit import clock
from keel.kit.idempotency import repository
from keel.kit.jobs import JobContext

PURGE_JOB = "idempotency.purge"

log = structlog.get_logger("kit.idempotency")


async def purge(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
    """Expired keys are already ignored by claims; deleting them keeps the table small."""
    removed = await repository.purge_expired(session, now=clock.now())
    log.info("idempotency.purged", removed=removed)
