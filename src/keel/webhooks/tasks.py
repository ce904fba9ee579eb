"""The webhooks domain's jobs and its event handler: open the scope, call the service."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from keel.events.schemas import EventEnvelope
from keel.kit.jobs import JobContext
from keel.webhooks import service


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
