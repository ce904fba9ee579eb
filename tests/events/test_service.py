"""Publishing through the outbox: an event exists exactly when its transaction commits, and
each subscriber receives it through its own retryable job."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from keel.events import repository
from keel.events import service as events_service
from keel.events import tasks as events_tasks
from keel.events.schemas import Event, EventEnvelope
from keel.kit.db import Database
from keel.kit.deps import Resources
from keel.kit.jobs import JobContext
from keel.kit.jobs.models import DONE, QUEUED
from keel.worker import job_handlers
from tests.helpers.jobs import FakeClock, all_jobs, runner


class WidgetShipped(Event):
    name = "widget.shipped"
    version = 2

    widget_id: uuid.UUID
    carrier: str


def shipped(org: uuid.UUID | None = None) -> WidgetShipped:
    return WidgetShipped(organization_id=org or uuid.uuid4(), widget_id=uuid.uuid4(), carrier="ups")


async def test_publish__committed__stores_event_and_dispatch_job(database: Database) -> None:
    event = shipped()
    async with database.transaction() as session:
        event_id = await events_service.publish(session, event)
    async with database.transaction() as session:
        envelope = await events_service.get_envelope(session, event_id)
    assert envelope is not None
    assert (envelope.name, envelope.version) == ("widget.shipped", 2)
    assert envelope.organization_id == event.organization_id
    assert envelope.payload == {"widget_id": str(event.widget_id), "carrier": "ups"}
    assert envelope.typed() == event
    [job] = await all_jobs(database)
    assert (job.name, job.payload) == (events_service.DISPATCH_JOB, {"event_id": str(event_id)})


async def test_publish__transaction_rolled_back__publishes_nothing(database: Database) -> None:
    with pytest.raises(LookupError):
        async with database.transaction() as session:
            await events_service.publish(session, shipped())
            raise LookupError("the change that caused the event failed")
    async with database.transaction() as session:
        assert await repository.count(session) == 0
    assert await all_jobs(database) == []


async def test_event_name__defined_twice__refused() -> None:
    with pytest.raises(TypeError, match="defined twice"):

        class Duplicate(Event):
            name = "widget.shipped"


class Recorder:
    def __init__(self, *, failures: int = 0) -> None:
        self.failures = failures
        self.seen: list[EventEnvelope] = []

    async def __call__(
        self, session: AsyncSession, envelope: EventEnvelope, ctx: JobContext
    ) -> None:
        self.seen.append(envelope)
        if len(self.seen) <= self.failures:
            raise RuntimeError("subscriber down")


async def test_dispatch__two_subscribers__each_gets_event_and_retries_alone(
    resources: Resources, database: Database
) -> None:
    # Given two subscribers, one of which fails once
    steady, shaky = Recorder(), Recorder(failures=1)

    async def steady_handler(s: AsyncSession, e: EventEnvelope, c: JobContext) -> None:
        await steady(s, e, c)

    async def shaky_handler(s: AsyncSession, e: EventEnvelope, c: JobContext) -> None:
        await shaky(s, e, c)

    subscriptions: dict[str, list[events_tasks.EventHandler]] = {
        "widget.shipped": [steady_handler, shaky_handler]
    }
    now = FakeClock()
    worker = runner(resources, job_handlers(subscriptions), now=now)
    async with database.transaction() as session:
        event_id = await events_service.publish(session, shipped())
    now.advance(seconds=1)

    # When the worker drains the queue (dispatch, then one job per subscriber)
    for _ in range(6):
        await worker.run_once()
        now.advance(seconds=5)

    # Then both saw the event; the shaky one twice (its retry), the steady one once
    assert [e.id for e in steady.seen] == [event_id]
    assert [e.id for e in shaky.seen] == [event_id, event_id]
    handle_jobs = await all_jobs(database, name=events_service.HANDLE_JOB)
    assert sorted(j.payload["handler"] for j in handle_jobs) == sorted(
        events_tasks.handler_name(h) for h in subscriptions["widget.shipped"]
    )
    assert {(j.status, j.attempts) for j in handle_jobs} == {(DONE, 1), (DONE, 2)}


async def test_dispatch__no_subscriber__dispatch_done_and_nothing_else(
    resources: Resources, database: Database
) -> None:
    async with database.transaction() as session:
        await events_service.publish(session, shipped())
    await runner(resources, job_handlers({})).run_once()
    [dispatch] = await all_jobs(database)
    assert dispatch.status == DONE


async def test_dispatch__run_twice__queues_each_handler_once(
    resources: Resources, database: Database
) -> None:
    # A dispatch retried after a crash must not double the handler jobs.
    async def handler(s: AsyncSession, e: EventEnvelope, c: JobContext) -> None:
        return None

    subscriptions = {"widget.shipped": [handler]}
    dispatch = events_tasks.make_dispatch(subscriptions)
    async with database.transaction() as session:
        event_id = await events_service.publish(session, shipped())
    ctx: Any = None
    for _ in range(2):
        async with database.transaction() as session:
            await dispatch(session, {"event_id": str(event_id)}, ctx)
    handle_jobs = await all_jobs(database, name=events_service.HANDLE_JOB)
    assert [j.status for j in handle_jobs] == [QUEUED]
