"""One request is one transaction: everything an endpoint wrote commits together before the
response is sent, or nothing does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from alembic import command
from asgi_lifespan import LifespanManager
from sqlalchemy import text

from keel.config import Settings
from keel.events import repository as events_repository
from keel.events import service as events_service
from keel.events.schemas import Event
from keel.kit.broadcast import MemoryBroadcast
from keel.kit.cache import MemoryCache
from keel.kit.db import Database, create_engine
from keel.kit.deps import DbSession, Resources
from keel.kit.errors import Conflict
from keel.kit.jobs.models import Job
from keel.kit.routing import api_router
from keel.main import create_app
from tests.conftest import alembic_config, make_settings
from tests.helpers.app import client_for
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
    async with client_for(settings, resources, probe, raise_app_exceptions=False) as c:
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
    # Nothing the request wrote remains; the one job is the error report (error.detected),
    # written afterwards in a transaction of its own.
    assert [job.name for job in await all_jobs(database)] == [events_service.DISPATCH_JOB]
    async with database.transaction() as session:
        assert await events_repository.count(session) == 1
        assert await events_repository.count(session, name="error.detected") == 1


@probe.get("/count")
async def count_events(session: DbSession) -> dict[str, int]:
    return {"events": await events_repository.count(session)}


async def test_sqlite_get__writer_holds_lock__reader_not_blocked(tmp_path: Path) -> None:
    # Given its own migrated SQLite file (whatever the suite's backend), an app whose
    # connections never wait for a lock, and a writer holding it
    impatient = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'locks.db'}",
        tmp_path,
        "keel:test:locks:",
        database={"sqlite_busy_timeout_ms": 0},
        redis={"url": None},
    )
    await asyncio.to_thread(command.upgrade, alembic_config(impatient), "head")
    engine = create_engine(impatient)
    database = Database(create_engine(impatient))
    resources = Resources(impatient, database, MemoryCache(), MemoryBroadcast())
    app = create_app(impatient, resources=resources, run_worker=False)
    app.include_router(probe, prefix="/api/v1")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with LifespanManager(app), engine.connect() as writer:
            await writer.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the write lock is held
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                read = await c.get("/api/v1/tx/count")
                write = await c.post("/api/v1/tx/publish")
            await writer.rollback()
    finally:
        await database.dispose()
        await engine.dispose()
    # Then the GET reads at once, while a POST cannot get the lock
    assert read.status_code == 200, read.text
    assert write.status_code == 500
