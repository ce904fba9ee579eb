"""Audit jobs."""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from keel.audit import service
from keel.kit import tenancy
from keel.kit.jobs import JobContext

PURGE_JOB = "audit.purge"

log = structlog.get_logger("audit")


async def purge(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
    """Daily: delete each chain's entries past its retention (per plan; platform entries per
    KEEL_AUDIT__PLATFORM_RETENTION_DAYS), leaving every chain verifiable from its anchor."""
    await tenancy.enter_platform(session, reason="the retention sweep reads every organization")
    days = ctx.resources.settings.audit.platform_retention_days
    deleted = await service.purge_expired(session, platform_days=days)
    log.info("audit.purged", chains=len(deleted), entries=sum(deleted.values()))
