"""Mail jobs."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from keel.kit.jobs import JobContext

SEND_EMAIL_JOB = "notifications.send_email"


async def send_email(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
    raise RuntimeError("mailer not wired yet")
