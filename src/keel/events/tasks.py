"""The two jobs that deliver events: ``events.dispatch`` fans an event out into one
``events.handle`` job per subscribed handler, so each handler retries on its own. Handlers
listed under ``"*"`` (:data:`WILDCARD`) are subscribed to every event."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from keel.events import service
from keel.events.schemas import EventEnvelope
from keel.kit import jobs
from keel.kit.jobs import JobContext, JobHandler

EventHandler = Callable[[AsyncSession, EventEnvelope, JobContext], Awaitable[None]]
Subscriptions = Mapping[str, Sequence[EventHandler]]


class EventMissing(Exception):
    """The job names an event that is not in the outbox."""


def handler_name(handler: EventHandler) -> str:
    return f"{handler.__module__}:{handler.__qualname__}"


#: The key under which handlers receive every event, whatever its name (webhooks' fan-out).
WILDCARD = "*"


def handlers_for(subscriptions: Subscriptions, name: str) -> list[EventHandler]:
    """The event's own handlers, then the wildcard's; each once."""
    found = [*subscriptions.get(name, ()), *subscriptions.get(WILDCARD, ())]
    return list(dict.fromkeys(found))


def make_dispatch(subscriptions: Subscriptions) -> JobHandler:
    async def dispatch(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        envelope = await _load(session, payload)
        for handler in handlers_for(subscriptions, envelope.name):
            name = handler_name(handler)
            await jobs.enqueue(
                session,
                service.HANDLE_JOB,
                {"event_id": str(envelope.id), "handler": name},
                dedupe_key=f"event:{envelope.id}:{name}",
            )

    return dispatch


def make_handle(subscriptions: Subscriptions) -> JobHandler:
    by_name = {handler_name(h): h for hs in subscriptions.values() for h in hs}

    async def handle(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        handler = by_name.get(payload["handler"])
        if handler is None:
            raise LookupError(f"event handler {payload['handler']!r} is no longer subscribed")
        await handler(session, await _load(session, payload), ctx)

    return handle


async def _load(session: AsyncSession, payload: dict[str, Any]) -> EventEnvelope:
    envelope = await service.get_envelope(session, uuid.UUID(payload["event_id"]))
    if envelope is None:
        raise EventMissing(payload["event_id"])
    return envelope
