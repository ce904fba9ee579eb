"""One request is one transaction: everything an endpoint wrote commits together before the
response is sent, or nothing does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from keel.config import Settings
from keel.events import repository as events_repository
from keel.events import service as events_service
from keel.events.schemas import Event
from keel.kit.db import Database
from keel.kit.deps import DbSession, Resources
from keel.kit.errors import Conflict
from keel.kit.jobs.models import Job
from keel.kit.routing import api_router
from keel.main import create_app
from tests.helpers.jobs import all_jobs

probe = api_router(prefix="/tx")


class ProbeHappened(Event):
    name = "probe.happened"


@probe.post("/publish", status_code=201)
async def publish(session: DbSession) -> dict[str, str]:
    event_id = await events_service.publish(session, ProbeHappened())
    return {"id": str(event_id)}


@probe.post("/publish-then-refuse")
async def publish_then_refuse(session: DbSession) -> None:
    await events_service.publish(session, ProbeHappened())
    raise Conflict("Refused after publishing.")


@probe.post("/fails-at-commit")
async def fails_at_commit(session: DbSession) -> dict[str, str]:
    # Two rows with one dedupe key: nothing fails until the commit flushes them.
    session.add(Job(name="a", payload={}, dedupe_key="same"))
    session.add(Job(name="b", payload={}, dedupe_key="same"))
    return {"status": "looks fine"}


@pytest.fixture
async def tx_client(settings: Settings, resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, resources=resources, run_worker=False)
    app.include_router(probe, prefix="/api/v1")
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_request__succeeds__event_committed(
    tx_client: httpx.AsyncClient, database: Database
) -> None:
    response = await tx_client.post("/api/v1/tx/publish")
    assert response.status_code == 201
    async with database.transaction() as session:
        assert await events_repository.count(session, name="probe.happened") == 1


async def test_request__raises_app_error__event_rolled_back(
    tx_client: httpx.AsyncClient, database: Database
) -> None:
    response = await tx_client.post("/api/v1/tx/publish-then-refuse")
    assert response.status_code == 409
    async with database.transaction() as session:
        assert await events_repository.count(session) == 0
    assert await all_jobs(database) == []


async def test_request__commit_fails__error_answer_not_2xx(
    tx_client: httpx.AsyncClient, database: Database
) -> None:
    response = await tx_client.post("/api/v1/tx/fails-at-commit")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert await all_jobs(database) == []
