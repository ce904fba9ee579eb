"""What the users domain does when events arrive, and its onboarding email job.

``user.created``: the welcome email, the sign-up count, and the onboarding sequence (one
``users.onboarding_email`` job per day of ``KEEL_ONBOARDING__SEQUENCE_DAYS``, deduplicated
per user and day). Each of those jobs decides when it runs whether its email still goes out.

``error.detected``: the platform's superadmins hear about it, by email and, when
``KEEL_ALERTS__SLACK_WEBHOOK_URL`` is set, in Slack; two handlers, so each retries alone.

Handlers are idempotent: every email they queue has a dedupe key (per user and template, or
per event and recipient), and onboarding jobs one per user and day. Only a Slack post may
repeat, when the commit after it fails.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.events.schemas import EventEnvelope
from keel.kit import jobs, slack
from keel.kit.jobs import JobContext
from keel.notifications import service as notifications_service
from keel.observability.events import ErrorDetected
from keel.users import rules, service
from keel.users.events import UserCreated
from keel.users.models import ACTIVE, User

log = structlog.get_logger("users")

ONBOARDING_EMAIL_JOB = "users.onboarding_email"
ONBOARDING = "onboarding"  # the email category a user may unsubscribe from

SIGNUPS = Counter("keel_users_signups_total", "Accounts created (user.created handled).")


async def count_signup(session: AsyncSession, envelope: EventEnvelope, ctx: JobContext) -> None:
    """Sign-up analytics until an analytics domain exists: a counter and a log line."""
    SIGNUPS.inc()
    log.info("analytics.signup", user_id=envelope.payload["user_id"], event_id=str(envelope.id))


async def send_welcome(session: AsyncSession, envelope: EventEnvelope, ctx: JobContext) -> None:
    settings = ctx.resources.settings
    event = envelope.typed()
    assert isinstance(event, UserCreated)
    user = await service.get(session, event.user_id)
    if not settings.onboarding.welcome_email or user is None or user.status != ACTIVE:
        return
    await _send(session, user, "welcome", settings, dedupe_key=f"welcome:{user.id}")


async def schedule_onboarding(
    session: AsyncSession, envelope: EventEnvelope, ctx: JobContext
) -> None:
    user_id = envelope.payload["user_id"]
    for day in ctx.resources.settings.onboarding.sequence_days:
        await jobs.enqueue(
            session,
            ONBOARDING_EMAIL_JOB,
            {"user_id": user_id, "day": day},
            run_at=envelope.occurred_at + timedelta(days=day),
            dedupe_key=f"onboarding:{user_id}:day{day}",
        )


async def send_onboarding_email(
    session: AsyncSession, payload: dict[str, Any], ctx: JobContext
) -> None:
    """Job ``users.onboarding_email``: the day's email, unless the account is gone or
    disabled or has finished onboarding (the unsubscribed are skipped by the mail itself)."""
    user = await service.get(session, uuid.UUID(payload["user_id"]))
    wanted = user is not None and rules.onboarding_mail_wanted(
        active=user.status == ACTIVE,
        erasure_requested=user.erasure_requested_at is not None,
        completed=user.onboarding_completed_at is not None,
    )
    if user is None or not wanted:
        log.info("onboarding.email_skipped", user_id=payload["user_id"], day=payload["day"])
        return
    day = payload["day"]
    await _send(
        session,
        user,
        f"onboarding_day{day}",
        ctx.resources.settings,
        dedupe_key=f"onboarding:{user.id}:day{day}",
    )


async def _send(
    session: AsyncSession, user: User, template: str, settings: Settings, *, dedupe_key: str
) -> None:
    """Skipped by ``send_email`` itself when the user unsubscribed from onboarding mail."""
    await notifications_service.send_email(
        session,
        to=user.email,
        template=template,
        context=_product_links(user, settings),
        category=ONBOARDING,
        user_id=user.id,
        dedupe_key=dedupe_key,
    )


def _product_links(user: User, settings: Settings) -> dict[str, Any]:
    base = settings.http.public_url.rstrip("/")
    return {
        "name": user.name,
        "app_url": f"{base}/app",
        "api_docs_url": f"{base}/api/docs",
        "onboarding_url": f"{base}/app/onboarding",
    }


# ---- error.detected ------------------------------------------------------------------------


async def email_superadmins(
    session: AsyncSession, envelope: EventEnvelope, ctx: JobContext
) -> None:
    """Essential mail (no category): an operator cannot unsubscribe from outages."""
    if not ctx.resources.settings.alerts.email_superadmins:
        return
    context = _alert_context(envelope, ctx.resources.settings)
    for admin in await service.active_superadmins(session):
        await notifications_service.send_email(
            session,
            to=admin.email,
            template="error_alert",
            context={**context, "name": admin.name},
            dedupe_key=f"error-alert:{envelope.id}:{admin.id}",
        )


async def post_error_to_slack(
    session: AsyncSession, envelope: EventEnvelope, ctx: JobContext
) -> None:
    url = ctx.resources.settings.alerts.slack_webhook_url
    if url is None:
        return
    context = _alert_context(envelope, ctx.resources.settings)
    async with httpx.AsyncClient() as client:
        await slack.post_message(client, url.get_secret_value(), _slack_text(context))


def _alert_context(envelope: EventEnvelope, settings: Settings) -> dict[str, Any]:
    event = envelope.typed()
    assert isinstance(event, ErrorDetected)
    return {
        **event.model_dump(mode="json", exclude={"organization_id"}),
        "event_id": str(envelope.id),
        "environment": settings.env,
        "public_url": settings.http.public_url,
    }


def _slack_text(context: dict[str, Any]) -> str:
    more = f" (+{context['suppressed']} more since {context['first_seen']})"
    return (
        f":rotating_light: *{slack.escape(context['exception_type'])}* in "
        f"`{slack.escape(context['where'])}` on {context['public_url']} ({context['environment']})"
        f"{more if context['suppressed'] else ''}\n"
        f"> {slack.escape(context['message'])}\n"
        f"fingerprint `{context['fingerprint']}`, request id `{context['request_id'] or '-'}`"
    )
