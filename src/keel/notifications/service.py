"""``notifications_service.send_email``: mail is queued in the caller's transaction and sent
by a job, never inside a request. A rolled-back change sends nothing; a committed one is
sent at least once (a retry keeps the Message-ID, see :func:`rules.message_id`).

Everything that can be checked without the mail server is checked here, while the caller
can still see the error: the address, the template and that the context renders.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.kit import clock, jobs
from keel.kit.mail import transport_for
from keel.notifications import rules
from keel.notifications.errors import InvalidEmailContext, InvalidRecipient
from keel.notifications.schemas import SendEmailPayload

SEND_EMAIL_JOB = "notifications.send_email"


async def send_email(
    session: AsyncSession,
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    reply_to: str | None = None,
    category: str | None = None,
    user_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Queue ``template`` for ``to``; returns the job id. ``category`` marks non-essential
    mail the recipient (``user_id``) may unsubscribe from; None is essential mail."""
    payload = SendEmailPayload(
        to=_deliverable(to),
        template=template,
        context=_json_only(context),
        reply_to=_deliverable(reply_to) if reply_to is not None else None,
        category=category,
        user_id=user_id,
    )
    rules.render(payload.template, payload.context)
    job_id = await jobs.enqueue(session, SEND_EMAIL_JOB, payload.model_dump(mode="json", exclude_none=True))
    assert job_id is not None  # only a dedupe key can make enqueue skip, and none is given
    return job_id


async def send_test_email(
    session: AsyncSession, *, to: str, requested_by: str | None = None
) -> uuid.UUID:
    """The operator check behind ``keel doctor`` and the dashboard: proves the whole path."""
    context = {} if requested_by is None else {"requested_by": requested_by}
    return await send_email(session, to=to, template=rules.SYSTEM_TEST, context=context)


async def deliver(payload: SendEmailPayload, *, settings: Settings, job_id: uuid.UUID) -> None:
    rendered = rules.render(payload.template, payload.context)
    message = rules.build_message(
        rendered,
        sender=settings.smtp.sender,
        to=payload.to,
        reply_to=payload.reply_to,
        message_id=rules.message_id(job_id, sender=settings.smtp.sender),
        sent_at=clock.now(),
    )
    await transport_for(settings).send(message)


def _deliverable(address: str) -> str:
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidRecipient(f"{address!r} is not an email address: {exc}") from None


def _json_only(context: dict[str, Any]) -> dict[str, Any]:
    """Round-trip through JSON so the request renders exactly what the job will."""
    try:
        restored: dict[str, Any] = json.loads(json.dumps(context))
    except (TypeError, ValueError) as exc:
        raise InvalidEmailContext(f"email context must be plain JSON: {exc}") from None
    return restored
