"""``events_service.publish``: the outbox write. The event row and its dispatch job commit
with the caller's transaction, so a rolled-back change publishes nothing and a committed one
is delivered at least once."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from keel.events import repository
from keel.events.models import EventRecord
from keel.events.schemas import EVENT_TYPES, Event, EventEnvelope, EventType
from keel.kit import jobs
from keel.kit.ids import new_id

DISPATCH_JOB = "events.dispatch"
HANDLE_JOB = "events.handle"


async def publish(session: AsyncSession, event: Event) -> uuid.UUID:
    record = EventRecord(
        id=new_id(),
        name=event.name,
        version=event.version,
        organization_id=event.organization_id,
        payload=event.payload(),
    )
    await repository.add(session, record)
    await jobs.enqueue(session, DISPATCH_JOB, {"event_id": str(record.id)})
    return record.id


async def get_envelope(session: AsyncSession, event_id: uuid.UUID) -> EventEnvelope | None:
    record = await repository.get(session, event_id)
    return None if record is None else _envelope(record)


def _envelope(record: EventRecord) -> EventEnvelope:
    return EventEnvelope(
        id=record.id,
        name=record.name,
        version=record.version,
        organization_id=record.organization_id,
        occurred_at=record.occurred_at,
        payload=record.payload,
    )


async def newest(session: AsyncSession, name: str, *, limit: int = 10) -> list[EventEnvelope]:
    """The latest events named ``name``, newest first (``error.detected`` on the God
    dashboard's health page)."""
    records = await repository.newest(session, name=name, limit=limit)
    return [_envelope(record) for record in records]


def catalog() -> list[EventType]:
    """Every event type this process knows, by name. Event classes register when their
    domain's ``events`` module is imported; the app and the worker import every domain."""
    return [EventType.of(EVENT_TYPES[name]) for name in sorted(EVENT_TYPES)]
