"""``notifications_service.send_email``: mail is queued in the caller's transaction and sent
by a job, never inside a request. A rolled-back change sends nothing; a committed one is
sent at least once (a retry keeps the Message-ID, see :func:`rules.message_id`).

Everything that can be checked without the mail server is checked here, while the caller
can still see the error: the address, the template and that the context renders.

Non-essential mail (a ``category``) is checked against the recipient's preferences twice:
when queued (nothing is queued for an unsubscribed user) and when sent (an unsubscribe
between the two is honoured). It carries an unsubscribe link and the RFC 8058 headers.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import structlog
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.kit import clock, jobs
from keel.kit.mail import transport_for
from keel.notifications import repository, rules
from keel.notifications.errors import InvalidEmailContext, InvalidRecipient
from keel.notifications.schemas import SendEmailPayload

log = structlog.get_logger("notifications")

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
    dedupe_key: str | None = None,
) -> uuid.UUID | None:
    """Queue ``template`` for ``to``; returns the job id, or None when nothing was queued:
    ``user_id`` unsubscribed from ``category``, or ``dedupe_key`` was used already (a
    handler run twice). ``category`` None is essential mail, always sent."""
    payload = SendEmailPayload(
        to=_deliverable(to),
        template=template,
        context=_json_only(context),
        reply_to=_deliverable(reply_to) if reply_to is not None else None,
        category=_known_category(category, user_id),
        user_id=user_id,
    )
    rules.render(payload.template, payload.context)
    if await _declined(session, payload):
        return None
    return await jobs.enqueue(
        session,
        SEND_EMAIL_JOB,
        payload.model_dump(mode="json", exclude_none=True),
        dedupe_key=None if dedupe_key is None else f"mail:{dedupe_key}",
    )


async def send_test_email(
    session: AsyncSession, *, to: str, requested_by: str | None = None
) -> uuid.UUID | None:
    """The operator check behind ``keel doctor`` and the dashboard: proves the whole path."""
    context = {} if requested_by is None else {"requested_by": requested_by}
    return await send_email(session, to=to, template=rules.SYSTEM_TEST, context=context)


async def deliver(
    session: AsyncSession, payload: SendEmailPayload, *, settings: Settings, job_id: uuid.UUID
) -> None:
    if await _declined(session, payload):
        log.info("mail.skipped_unsubscribed", category=payload.category, job_id=str(job_id))
        return
    link = _unsubscribe_link(payload, settings)
    rendered = rules.render(
        payload.template, payload.context, brand=brand(settings), unsubscribe_url=link
    )
    message = rules.build_message(
        rendered,
        sender=settings.smtp.sender,
        to=payload.to,
        reply_to=payload.reply_to,
        message_id=rules.message_id(job_id, sender=settings.smtp.sender),
        sent_at=clock.now(),
        unsubscribe_url=link,
    )
    await transport_for(settings).send(message)


def brand(settings: Settings) -> rules.Brand:
    config = settings.notifications
    return rules.Brand(
        product_name=config.product_name,
        logo_text=config.logo_text or config.product_name,
        primary_color=config.primary_color,
        text_color=config.text_color,
        background_color=config.background_color,
        support_email=config.support_email,
    )


def unsubscribe_key(settings: Settings) -> bytes:
    secret = settings.notifications.unsubscribe_secret or settings.secret_key
    return rules.unsubscribe_key(secret.get_secret_value())


def _unsubscribe_link(payload: SendEmailPayload, settings: Settings) -> str | None:
    if payload.category is None or payload.user_id is None:
        return None
    token = rules.unsubscribe_token(
        payload.user_id, payload.category, key=unsubscribe_key(settings)
    )
    return rules.unsubscribe_url(settings.http.public_url, token)


async def _declined(session: AsyncSession, payload: SendEmailPayload) -> bool:
    if payload.category is None or payload.user_id is None:
        return False
    return await repository.is_unsubscribed(session, payload.user_id, payload.category)


def _known_category(category: str | None, user_id: uuid.UUID | None) -> str | None:
    """A caller's mistake, not the recipient's: raised as a plain error (a bug to fix)."""
    if category is None:
        return None
    if category not in rules.CATEGORIES:
        raise ValueError(f"unknown email category {category!r}; known: {sorted(rules.CATEGORIES)}")
    if user_id is None:
        raise ValueError("non-essential mail needs the recipient's user_id (its preferences)")
    return category


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
