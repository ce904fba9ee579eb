"""Webhook endpoints: CRUD, the secret shown once, rotation with a grace period.

Every URL passes the SSRF guard when it is saved (:func:`check_url`), and again at every
send (the guarded client). Event names are checked against the catalog. Every change is
audited and published in the request's transaction.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import OrgAccess
from keel.audit import rules as audit_rules
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.config import Settings
from keel.events import service as events_service
from keel.events.schemas import EVENT_TYPES, EventType
from keel.kit import clock, outbound
from keel.kit.ids import new_id
from keel.kit.repository import Window
from keel.kit.schemas import PageParams
from keel.kit.security import KeyRing
from keel.webhooks import rules
from keel.webhooks.errors import UnknownEventType, WebhookNotFound, WebhookUrlForbidden
from keel.webhooks.events import (
    WebhookEndpointCreated,
    WebhookEndpointDeleted,
    WebhookEndpointRotated,
    WebhookEndpointUpdated,
)
from keel.webhooks.models import WEBHOOK, WebhookEndpoint
from keel.webhooks.repository import EndpointRepository
from keel.webhooks.schemas import SecretRotated, WebhookCreate, WebhookUpdate
from keel.webhooks.service.delivery import schedule_drain
from keel.webhooks.service.sending import seal


def event_types() -> list[EventType]:
    return [EventType.of(EVENT_TYPES[name]) for name in sorted(EVENT_TYPES)]


async def create_webhook(
    session: AsyncSession, org: OrgAccess, data: WebhookCreate, *, settings: Settings
) -> tuple[WebhookEndpoint, str]:
    """The endpoint and its secret, which is never shown again."""
    check_event_types(data.event_types)
    await check_url(data.url, settings=settings)
    secret = new_secret()
    endpoint = new_endpoint(
        org,
        kind=WEBHOOK,
        url=data.url,
        description=data.description,
        event_types=data.event_types,
        enabled=data.enabled,
        secret=secret,
        settings=settings,
    )
    await EndpointRepository(session, org.org_id).add(endpoint)
    await _audit(
        session, org, "webhook_endpoint.created", endpoint, before={}, after=snapshot(endpoint)
    )
    await events_service.publish(
        session,
        WebhookEndpointCreated(
            organization_id=org.org_id, endpoint_id=endpoint.id, event_types=data.event_types
        ),
    )
    return endpoint, secret


async def list_webhooks(
    session: AsyncSession, org: OrgAccess, page: PageParams
) -> Window[WebhookEndpoint]:
    return await EndpointRepository(session, org.org_id).page(page)


async def get_webhook(
    session: AsyncSession, org: OrgAccess, endpoint_id: uuid.UUID
) -> WebhookEndpoint:
    found = await EndpointRepository(session, org.org_id).webhook(endpoint_id)
    if found is None:
        raise WebhookNotFound()
    return found


async def update_webhook(
    session: AsyncSession,
    org: OrgAccess,
    endpoint_id: uuid.UUID,
    data: WebhookUpdate,
    *,
    settings: Settings,
) -> WebhookEndpoint:
    """A changed URL is checked again; enabling clears the reason it was off and queues a
    run for deliveries left pending while it was."""
    endpoint = await get_webhook(session, org, endpoint_id)
    changes = data.changes()
    if "event_types" in changes:
        check_event_types(changes["event_types"])
    if "url" in changes and changes["url"] != endpoint.url:
        await check_url(changes["url"], settings=settings)
    before = snapshot(endpoint)
    await apply(session, endpoint, changes)
    diff = audit_rules.diff(before, snapshot(endpoint))
    if diff:
        await _audit(
            session,
            org,
            "webhook_endpoint.updated",
            endpoint,
            before=before,
            after=snapshot(endpoint),
        )
        await events_service.publish(
            session,
            WebhookEndpointUpdated(
                organization_id=org.org_id, endpoint_id=endpoint.id, fields=sorted(diff)
            ),
        )
    return endpoint


async def apply(session: AsyncSession, endpoint: WebhookEndpoint, changes: dict[str, Any]) -> None:
    """Shared with the Slack integration."""
    was_enabled = endpoint.enabled
    for field, value in changes.items():
        setattr(endpoint, field, value)
    if endpoint.enabled and not was_enabled:
        endpoint.disabled_reason = endpoint.disabled_at = endpoint.failing_since = None
        await schedule_drain(session, endpoint.organization_id, endpoint.id)
    elif was_enabled and not endpoint.enabled:
        endpoint.disabled_reason, endpoint.disabled_at = "manual", clock.now()
    await session.flush()


async def delete_webhook(session: AsyncSession, org: OrgAccess, endpoint_id: uuid.UUID) -> None:
    endpoint = await get_webhook(session, org, endpoint_id)
    await _audit(
        session, org, "webhook_endpoint.deleted", endpoint, before=snapshot(endpoint), after={}
    )
    await events_service.publish(
        session, WebhookEndpointDeleted(organization_id=org.org_id, endpoint_id=endpoint.id)
    )
    await EndpointRepository(session, org.org_id).delete(endpoint)


async def rotate_secret(
    session: AsyncSession, org: OrgAccess, endpoint_id: uuid.UUID, *, settings: Settings
) -> SecretRotated:
    """The new secret signs from now on; the current one becomes the previous and keeps
    signing too for ``signing_grace_hours``, so receivers can switch without a gap."""
    endpoint = await get_webhook(session, org, endpoint_id)
    secret = new_secret()
    expires = clock.now() + timedelta(hours=settings.webhooks.signing_grace_hours)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = expires
    endpoint.secret = seal(KeyRing.from_settings(settings), endpoint.id, secret)
    await session.flush()
    await audit_service.record(
        session,
        org.actor,
        "webhook_endpoint.rotated",
        target=target_of(endpoint),
        changes={"previous_expires_at": [None, _iso(expires)]},
    )
    await events_service.publish(
        session,
        WebhookEndpointRotated(
            organization_id=org.org_id, endpoint_id=endpoint.id, previous_expires_at=_iso(expires)
        ),
    )
    return SecretRotated(secret=secret, previous_expires_at=expires)


# ---- checks -------------------------------------------------------------------------------------


async def check_url(url: str, *, settings: Settings, field: str = "body.url") -> None:
    try:
        await outbound.check_url(url, allow_loopback=settings.webhooks.allow_loopback)
    except outbound.ForbiddenDestination as exc:
        raise WebhookUrlForbidden(
            exc.reason,
            errors=[{"field": field, "message": exc.reason}],
            address_class=exc.address_class,
        ) from None


def check_event_types(chosen: list[str], *, field: str = "body.event_types") -> None:
    unknown = rules.unknown_event_types(chosen, EVENT_TYPES)
    if unknown:
        raise UnknownEventType(
            f"Unknown event types: {', '.join(unknown)}. GET /api/v1/webhooks/event-types "
            "lists the names Keel publishes.",
            errors=[
                {"field": f"{field}.{chosen.index(name)}", "message": f"unknown event {name!r}"}
                for name in unknown
            ],
        )


def new_secret() -> str:
    return rules.secret_from_bytes(secrets.token_bytes(rules.SECRET_BYTES))


def new_endpoint(
    org: OrgAccess,
    *,
    kind: str,
    url: str,
    description: str | None,
    event_types: list[str],
    enabled: bool,
    secret: str,
    settings: Settings,
) -> WebhookEndpoint:
    """A new endpoint of either kind, its secret sealed (shared with the Slack integration);
    one created off is off by hand."""
    endpoint_id = new_id()
    return WebhookEndpoint(
        id=endpoint_id,
        organization_id=org.org_id,
        kind=kind,
        url=url,
        description=description,
        event_types=event_types,
        enabled=enabled,
        disabled_reason=None if enabled else "manual",
        disabled_at=None if enabled else clock.now(),
        secret=seal(KeyRing.from_settings(settings), endpoint_id, secret),
    )


# ---- audit --------------------------------------------------------------------------------------


def snapshot(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "enabled": endpoint.enabled,
    }


def target_of(endpoint: WebhookEndpoint) -> Target:
    return Target(
        type="webhook_endpoint" if endpoint.kind == WEBHOOK else "slack_integration",
        id=str(endpoint.id),
        organization_id=endpoint.organization_id,
    )


async def _audit(
    session: AsyncSession,
    org: OrgAccess,
    action: str,
    endpoint: WebhookEndpoint,
    *,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    changes = audit_rules.diff(before, after)
    await audit_service.record(
        session, org.actor, action, target=target_of(endpoint), changes=changes
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat()
