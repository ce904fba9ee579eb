"""From an event to deliveries: the ``"*"`` subscriber's work, in its job's transaction.

For an event of an organization: the organization's enabled endpoints subscribed to it (one
query), one message (its body built and frozen here, so every attempt sends the same bytes),
one delivery per endpoint, and a coalesced delivery run per endpoint. The event's outbox row
only exists if the change behind it committed, so a rolled-back request sends nothing.
Idempotent on the event id: a second run finds the message and does nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from keel.events.schemas import EventEnvelope
from keel.kit import clock, tenancy
from keel.kit.ids import new_id
from keel.webhooks import repository, rules
from keel.webhooks.models import PENDING, WebhookDelivery, WebhookMessage
from keel.webhooks.service.delivery import schedule_drain


async def fan_out(session: AsyncSession, envelope: EventEnvelope) -> int:
    """Returns the number of deliveries queued."""
    org_id = envelope.organization_id
    if org_id is None:
        return 0
    await tenancy.enter_tenant(session, org_id)
    endpoints = [
        e
        for e in await repository.enabled_endpoints(session, org_id)
        if rules.subscribed(e.event_types, envelope.name)
    ]
    if not endpoints or await repository.message_for_event(session, org_id, envelope.id):
        return 0
    data = rules.event_data(
        envelope.payload, event_id=envelope.id, organization_id=org_id, version=envelope.version
    )
    await add_message(
        session,
        org_id,
        event_id=envelope.id,
        event_type=envelope.name,
        occurred_at=envelope.occurred_at,
        data=data,
        endpoint_ids=[endpoint.id for endpoint in endpoints],
        now=clock.now(),
        due=True,
    )
    for endpoint in endpoints:
        await schedule_drain(session, org_id, endpoint.id)
    return len(endpoints)


async def add_message(
    session: AsyncSession,
    org_id: uuid.UUID,
    *,
    event_id: uuid.UUID | None,
    event_type: str,
    occurred_at: datetime,
    data: dict[str, Any],
    endpoint_ids: Sequence[uuid.UUID],
    now: datetime,
    due: bool,
) -> tuple[WebhookMessage, list[WebhookDelivery]]:
    """The message, its body frozen here, and a pending delivery of it to each endpoint:
    due now, or (``due=False``, the test ping sent at once) taken by no delivery job."""
    message = WebhookMessage(
        id=new_id(),
        organization_id=org_id,
        event_id=event_id,
        event_type=event_type,
        body=rules.message_body(event_type=event_type, occurred_at=occurred_at, data=data),
        occurred_at=occurred_at,
        created_at=now,
    )
    session.add(message)
    await session.flush()  # no ORM relationship orders the inserts: the message first
    deliveries = [
        WebhookDelivery(
            id=new_id(),
            organization_id=org_id,
            endpoint_id=endpoint_id,
            message_id=message.id,
            event_type=event_type,
            status=PENDING,
            attempts=0,
            next_attempt_at=now if due else None,
            created_at=now,
            occurred_at=occurred_at,
        )
        for endpoint_id in endpoint_ids
    ]
    session.add_all(deliveries)
    await session.flush()
    return message, deliveries
