"""The organization's Slack integration: an incoming-webhook URL and the events to post.

It is an endpoint of kind ``slack`` (at most one per organization, a unique index says so),
so it rides the same fan-out, retries, log and disabling as webhooks; only the request
differs (Slack's ``{"text": ...}``, unsigned). The URL must be https — it is a credential —
except a loopback http URL when ``allow_loopback`` is on (development and tests).
"""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import OrgAccess
from keel.audit import service as audit_service
from keel.config import Settings
from keel.events import service as events_service
from keel.kit import outbound
from keel.kit.db import unique_or_raise
from keel.kit.deps import Resources
from keel.kit.errors import Conflict
from keel.webhooks.errors import SlackNotConfigured, WebhookUrlForbidden
from keel.webhooks.events import SlackIntegrationDeleted, SlackIntegrationUpdated
from keel.webhooks.models import SLACK, WebhookEndpoint
from keel.webhooks.repository import EndpointRepository
from keel.webhooks.schemas import AttemptResult, SlackRead, SlackWrite
from keel.webhooks.service.endpoints import (
    apply,
    check_event_types,
    check_url,
    new_endpoint,
    new_secret,
    target_of,
)
from keel.webhooks.service.log import send_test


async def get_slack(session: AsyncSession, org: OrgAccess) -> WebhookEndpoint:
    found = await EndpointRepository(session, org.org_id).slack()
    if found is None:
        raise SlackNotConfigured()
    return found


async def put_slack(
    session: AsyncSession, org: OrgAccess, data: SlackWrite, *, settings: Settings
) -> WebhookEndpoint:
    check_event_types(data.event_types)
    await _check_slack_url(data.url, settings=settings)
    repository = EndpointRepository(session, org.org_id)
    endpoint = await repository.slack()
    if endpoint is None:
        endpoint = await _create(session, org, data, settings=settings)
        fields = ["event_types", "url", "enabled"]
    else:
        before = (endpoint.url, list(endpoint.event_types), endpoint.enabled)
        await apply(session, endpoint, data.model_dump())
        after = (endpoint.url, list(endpoint.event_types), endpoint.enabled)
        fields = [
            n
            for n, b, a in zip(("url", "event_types", "enabled"), before, after, strict=True)
            if b != a
        ]
        if not fields:
            return endpoint
    await audit_service.record(
        session,
        org.actor,
        "slack_integration.updated",
        target=target_of(endpoint),
        changes={"fields": fields, "event_types": list(endpoint.event_types)},
    )
    await events_service.publish(
        session,
        SlackIntegrationUpdated(
            organization_id=org.org_id, endpoint_id=endpoint.id, event_types=data.event_types
        ),
    )
    return endpoint


async def _create(
    session: AsyncSession, org: OrgAccess, data: SlackWrite, *, settings: Settings
) -> WebhookEndpoint:
    """Slack does not verify signatures; the row still carries a sealed secret like every
    endpoint, unused."""
    endpoint = new_endpoint(
        org,
        kind=SLACK,
        url=data.url,
        description=None,
        event_types=data.event_types,
        enabled=data.enabled,
        secret=new_secret(),
        settings=settings,
    )
    conflict = Conflict("The Slack integration was set up meanwhile; read it and retry.")
    async with unique_or_raise(session, conflict):
        await EndpointRepository(session, org.org_id).add(endpoint)
    return endpoint


async def delete_slack(session: AsyncSession, org: OrgAccess) -> None:
    endpoint = await get_slack(session, org)
    await audit_service.record(
        session, org.actor, "slack_integration.deleted", target=target_of(endpoint)
    )
    await events_service.publish(
        session, SlackIntegrationDeleted(organization_id=org.org_id, endpoint_id=endpoint.id)
    )
    await EndpointRepository(session, org.org_id).delete(endpoint)


async def ping_slack(session: AsyncSession, resources: Resources, org: OrgAccess) -> AttemptResult:
    return await send_test(session, resources, org, await get_slack(session, org))


def slack_read(endpoint: WebhookEndpoint) -> SlackRead:
    host = endpoint.url.split("/")[2] if "://" in endpoint.url else ""
    return SlackRead(
        id=endpoint.id,
        url_host=host,
        event_types=list(endpoint.event_types),
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        failing_since=endpoint.failing_since,
        updated_at=endpoint.updated_at,
    )


async def _check_slack_url(url: str, *, settings: Settings) -> None:
    parsed = _parsed(url)
    loopback_dev = settings.webhooks.allow_loopback and parsed.host in (
        "127.0.0.1",
        "localhost",
        "::1",
    )
    if parsed.scheme != "https" and not loopback_dev:
        reason = "A Slack incoming-webhook URL is https:// (it carries a credential)."
        raise WebhookUrlForbidden(reason, errors=[{"field": "body.url", "message": reason}])
    await check_url(url, settings=settings)


def _parsed(url: str) -> httpx.URL:
    try:
        return outbound.parse(url)
    except outbound.ForbiddenDestination as exc:
        raise WebhookUrlForbidden(
            exc.reason, errors=[{"field": "body.url", "message": exc.reason}]
        ) from None
