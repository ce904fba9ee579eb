"""The webhooks domain's jobs and its event handler: open the scope, call the service."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from keel.events.schemas import EventEnvelope
from keel.kit import jobs
from keel.kit.jobs import JobContext
from keel.webhooks import service

log = structlog.get_logger("webhooks")


async def fan_out(session: AsyncSession, envelope: EventEnvelope, ctx: JobContext) -> None:
    """Subscribed to ``"*"``: every event of an organization may be someone's webhook."""
    await service.fan_out(session, envelope)


async def deliver(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
    await service.drain(
        session,
        ctx.resources,
        job_id=ctx.job_id,
        org_id=uuid.UUID(payload["organization_id"]),
        endpoint_id=uuid.UUID(payload["endpoint_id"]),
    )


async def sweep(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
    await service.sweep(session)


async def purge(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
    """Daily. Its batches commit on their own (``service.retention``); this job's transaction
    only queues a follow-up run when half its lease went by with rows left to delete."""
    settings = ctx.resources.settings
    purged = await service.purge_log(
        ctx.resources.database,
        retention_days=settings.webhooks.log_retention_days,
        budget_seconds=settings.jobs.lease_seconds / 2,
    )
    log.info(
        "webhook_log.purged",
        deliveries=purged.deliveries,
        messages=purged.messages,
        finished=purged.finished,
    )
    if not purged.finished:
        key = f"{service.PURGE_JOB}:after:{ctx.job_id}"
        await jobs.enqueue(session, service.PURGE_JOB, {}, dedupe_key=key)
