"""The delivery log (deliveries, their attempts), manual redelivery and the test ping."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import OrgAccess
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.events import service as events_service
from keel.kit import clock
from keel.kit.deps import Resources
from keel.kit.repository import Window
from keel.kit.schemas import PageParams
from keel.kit.security import KeyRing
from keel.webhooks import repository, rules
from keel.webhooks.errors import DeliveryNotFound
from keel.webhooks.events import WebhookRedelivered
from keel.webhooks.models import (
    PENDING,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from keel.webhooks.repository import DeliveryRepository
from keel.webhooks.schemas import AttemptResult, DeliveryFilters, DeliveryRead
from keel.webhooks.service.delivery import attempt_row, delivery_change, schedule_drain
from keel.webhooks.service.endpoints import get_webhook
from keel.webhooks.service.endpoints import target_of as endpoint_target
from keel.webhooks.service.fanout import add_message
from keel.webhooks.service.sending import attempt, target_of


async def list_deliveries(
    session: AsyncSession,
    org: OrgAccess,
    endpoint_id: uuid.UUID,
    filters: DeliveryFilters,
    page: PageParams,
) -> Window[WebhookDelivery]:
    endpoint = await get_webhook(session, org, endpoint_id)
    return await DeliveryRepository(session, org.org_id).page(endpoint.id, filters, page)


async def get_delivery(
    session: AsyncSession, org: OrgAccess, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    endpoint = await get_webhook(session, org, endpoint_id)
    found = await DeliveryRepository(session, org.org_id).in_endpoint(endpoint.id, delivery_id)
    if found is None:
        raise DeliveryNotFound()
    return found


async def list_attempts(
    session: AsyncSession, org: OrgAccess, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> list[WebhookAttempt]:
    delivery = await get_delivery(session, org, endpoint_id, delivery_id)
    return await DeliveryRepository(session, org.org_id).attempts(delivery.id)


async def latest_deliveries(
    session: AsyncSession, org: OrgAccess, endpoint_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, WebhookDelivery]:
    """Each endpoint's newest delivery, for a list of endpoints ("last delivery"); an
    endpoint with none is left out."""
    rows = await DeliveryRepository(session, org.org_id).newest_per_endpoint(endpoint_ids)
    return {row.endpoint_id: row for row in rows}


async def last_attempts(
    session: AsyncSession, org: OrgAccess, delivery_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, WebhookAttempt]:
    """Each delivery's latest attempt (its status and latency), for a page of the log; a
    delivery not tried yet is left out."""
    rows = await DeliveryRepository(session, org.org_id).last_attempts(delivery_ids)
    return {row.delivery_id: row for row in rows}


async def redeliver(
    session: AsyncSession, org: OrgAccess, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Due now again, same message (same ``webhook-id``); the delivery job sends it. One
    attempt when its schedule is spent, else the schedule carries on."""
    delivery = await get_delivery(session, org, endpoint_id, delivery_id)
    delivery.status, delivery.next_attempt_at = PENDING, clock.now()
    delivery.delivered_at = None
    await session.flush()
    await audit_service.record(
        session,
        org.actor,
        "webhook.redelivered",
        target=Target("webhook_delivery", str(delivery.id), org.org_id),
    )
    await events_service.publish(
        session,
        WebhookRedelivered(
            organization_id=org.org_id, endpoint_id=delivery.endpoint_id, delivery_id=delivery.id
        ),
    )
    await schedule_drain(session, org.org_id, delivery.endpoint_id)
    return delivery


async def ping(
    session: AsyncSession, resources: Resources, org: OrgAccess, endpoint_id: uuid.UUID
) -> AttemptResult:
    """A ``webhook.test`` message sent now, once, whatever the endpoint's event filter or
    enabled flag: the answer is that attempt, and it is in the log like any other."""
    endpoint = await get_webhook(session, org, endpoint_id)
    return await send_test(session, resources, org, endpoint)


async def send_test(
    session: AsyncSession, resources: Resources, org: OrgAccess, endpoint: WebhookEndpoint
) -> AttemptResult:
    now = clock.now()
    message, [delivery] = await add_message(
        session,
        org.org_id,
        event_id=None,
        event_type=rules.PING_EVENT,
        occurred_at=now,
        data={"endpoint_id": str(endpoint.id), "organization_id": str(org.org_id)},
        endpoint_ids=[endpoint.id],
        now=now,
        due=False,
    )
    target = target_of(endpoint, KeyRing.from_settings(resources.settings), now=now)
    outcome = await attempt(
        resources.outbound,
        target,
        delivery_id=delivery.id,
        number=1,
        message_id=message.id,
        body=message.body,
        settings=resources.settings.webhooks,
        started_at=now,
    )
    change = delivery_change(outcome, now=clock.now(), max_retry_after=0, retry=False)
    await repository.record(session, [attempt_row(org.org_id, outcome)], [change])
    await audit_service.record(
        session,
        org.actor,
        f"{endpoint_target(endpoint).type}.tested",
        target=endpoint_target(endpoint),
        changes={"response_status": [None, outcome.status]},
    )
    return AttemptResult(
        delivery_id=delivery.id,
        webhook_id=rules.message_id(message.id),
        succeeded=outcome.succeeded,
        response_status=outcome.status,
        latency_ms=outcome.latency_ms,
        error=outcome.error,
    )


def delivery_read(delivery: WebhookDelivery) -> DeliveryRead:
    return DeliveryRead(
        id=delivery.id,
        webhook_id=rules.message_id(delivery.message_id),
        event_type=delivery.event_type,
        status=delivery.status,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
        last_attempt_at=delivery.last_attempt_at,
        last_response_status=delivery.last_response_status,
        created_at=delivery.created_at,
        delivered_at=delivery.delivered_at,
    )
