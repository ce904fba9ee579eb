"""Notification jobs: sending one email, and the daily inbox retention purge."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from keel.kit.jobs import JobContext
from keel.notifications import service
from keel.notifications.schemas import SendEmailPayload

SEND_EMAIL_JOB = service.SEND_EMAIL_JOB
PURGE_JOB = "notifications.purge"


async def send_email(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
    await service.deliver(
        session,
        SendEmailPayload.model_validate(payload),
        settings=ctx.resources.settings,
        job_id=ctx.job_id,
    )


async def purge(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
    await service.purge(session, retention_days=ctx.resources.settings.notifications.retention_days)
