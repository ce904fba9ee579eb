"""``events.dispatch`` with the wildcard: handlers under ``"*"`` receive every event."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from keel.events import service as events_service
from keel.events import tasks as events_tasks
from keel.events.schemas import Event, EventEnvelope
from keel.kit.db import Database
from keel.kit.deps import Resources
from keel.kit.jobs import JobContext
from keel.worker import job_handlers
from tests.helpers.jobs import FakeClock, runner


class GadgetBuilt(Event):
    name = "gadget.built"

    gadget_id: uuid.UUID


class GadgetSold(Event):
    name = "gadget.sold"

    gadget_id: uuid.UUID


async def test_dispatch__wildcard_subscriber__receives_every_event_once(
    resources: Resources, database: Database
) -> None:
    # Given a handler for every event and one for gadget.built only
    everything: list[str] = []
    built: list[str] = []

    async def every_event(s: AsyncSession, e: EventEnvelope, c: JobContext) -> None:
        everything.append(e.name)

    async def on_built(s: AsyncSession, e: EventEnvelope, c: JobContext) -> None:
        built.append(e.name)

    subscriptions: dict[str, list[events_tasks.EventHandler]] = {
        "*": [every_event],
        "gadget.built": [on_built],
    }
    now = FakeClock()
    worker = runner(resources, job_handlers(subscriptions), now=now)
    # When two events of different names are published and the worker drains the queue
    async with database.transaction() as session:
        await events_service.publish(session, GadgetBuilt(gadget_id=uuid.uuid4()))
        await events_service.publish(session, GadgetSold(gadget_id=uuid.uuid4()))
    now.advance(seconds=1)
    for _ in range(8):  # two dispatches, three handler jobs, one job per run
        await worker.run_once()
        now.advance(seconds=1)
    # Then the wildcard handler saw both, the named one only its own
    assert sorted(everything) == ["gadget.built", "gadget.sold"]
    assert built == ["gadget.built"]


def test_handlers_for__listed_both_ways__once_each() -> None:
    async def handler(s: AsyncSession, e: EventEnvelope, c: JobContext) -> None:
        return None

    subscriptions = {"*": [handler], "gadget.built": [handler]}
    assert events_tasks.handlers_for(subscriptions, "gadget.built") == [handler]
    assert events_tasks.handlers_for(subscriptions, "gadget.sold") == [handler]
    assert events_tasks.handlers_for({}, "gadget.sold") == []
