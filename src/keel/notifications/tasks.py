"""Mail jobs."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from keel.kit.jobs import JobContext
from keel.notifications import service
from keel.notifications.schemas import SendEmailPayload

SEND_EMAIL_JOB = service.SEND_EMAIL_JOB


async def send_email(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
    await service.deliver(
        SendEmailPayload.model_validate(payload),
        settings=ctx.resources.settings,
        job_id=ctx.job_id,
    )
