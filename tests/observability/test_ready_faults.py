"""``GET /ready`` under real outages: a PostgreSQL or Redis that stops (or hangs) turns the
answer to 503 within a second, and the same running Keel turns back to 200 once it returns.

The servers are throwaway instances started here on free ports (see ``throwaway.py``); the
machine's shared PostgreSQL and Redis are never touched.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from keel.config import Settings
from keel.main import create_app
from tests.conftest import TEST_SECRET
from tests.observability.throwaway import (
    ThrowawayPostgres,
    ThrowawayRedis,
    postgres_bindir,
    redis_binary,
)

RECOVERY_SECONDS = 5.0
OUTAGE_ANSWER_SECONDS = 1.0


@pytest.fixture(scope="module")
def throwaway_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThrowawayRedis]:
    binary = redis_binary()
    if binary is None:
        pytest.skip("redis-server is not installed: cannot start a throwaway Redis")
    server = ThrowawayRedis(binary, tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("initdb is not installed: cannot start a throwaway PostgreSQL")
    cluster = ThrowawayPostgres(bindir)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
async def ready_client(
    throwaway_postgres: ThrowawayPostgres, throwaway_redis: ThrowawayRedis, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        env="test",
        secret_key=TEST_SECRET,
        data_dir=tmp_path,
        database={"url": throwaway_postgres.url},
        redis={"url": throwaway_redis.url},
        log={"format": "json"},
    )
    app = create_app(settings, run_worker=False)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def timed_ready(client: httpx.AsyncClient) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await client.get("/ready")
    return response, time.perf_counter() - started


async def ready_again(client: httpx.AsyncClient) -> httpx.Response:
    """Polls until 200 or ``RECOVERY_SECONDS``: a restarted server needs a moment."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    while True:
        response = await client.get("/ready")
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.1)


def check(response: httpx.Response, name: str) -> dict[str, Any]:
    checks: list[dict[str, Any]] = response.json()["checks"]
    return next(c for c in checks if c["name"] == name)


def assert_outage(response: httpx.Response, seconds: float, down: str, up: str) -> None:
    assert response.status_code == 503, response.text
    assert seconds < OUTAGE_ANSWER_SECONDS, f"/ready took {seconds:.2f} s"
    assert response.json()["status"] == "failed"
    failed = check(response, down)
    assert failed["status"] == "failed"
    assert failed["error"] and "://" not in failed["error"]
    assert isinstance(failed["latency_ms"], float)
    assert check(response, up)["status"] == "ok"


async def test_ready__postgres_stopped_then_restarted__503_within_a_second_then_200(
    ready_client: httpx.AsyncClient, throwaway_postgres: ThrowawayPostgres
) -> None:
    # Given a ready Keel whose pool holds a connection to PostgreSQL
    assert (await ready_client.get("/ready")).status_code == 200
    for _cycle in range(2):
        # When PostgreSQL stops
        await asyncio.to_thread(throwaway_postgres.stop)
        response, seconds = await timed_ready(ready_client)
        # Then /ready answers 503 quickly, naming the database
        assert_outage(response, seconds, down="database", up="redis")
        # And when PostgreSQL is back, the same Keel is ready again
        await asyncio.to_thread(throwaway_postgres.start)
        recovered = await ready_again(ready_client)
        assert recovered.status_code == 200, recovered.text


async def test_ready__redis_stopped_then_restarted__503_within_a_second_then_200(
    ready_client: httpx.AsyncClient, throwaway_redis: ThrowawayRedis
) -> None:
    # Given a ready Keel with an open Redis connection
    assert (await ready_client.get("/ready")).status_code == 200
    for _cycle in range(2):
        # When Redis stops
        await asyncio.to_thread(throwaway_redis.stop)
        response, seconds = await timed_ready(ready_client)
        # Then /ready answers 503 quickly, naming Redis
        assert_outage(response, seconds, down="redis", up="database")
        # And when Redis is back, the client reconnects by itself
        await asyncio.to_thread(throwaway_redis.start)
        recovered = await ready_again(ready_client)
        assert recovered.status_code == 200, recovered.text


async def test_ready__redis_hangs__503_timed_out_within_a_second_then_200(
    ready_client: httpx.AsyncClient, throwaway_redis: ThrowawayRedis
) -> None:
    # Given a ready Keel
    assert (await ready_client.get("/ready")).status_code == 200
    # When Redis freezes: connections stay open but nothing answers
    throwaway_redis.pause()
    try:
        response, seconds = await timed_ready(ready_client)
    finally:
        throwaway_redis.resume()
    # Then the check gives up at the ready timeout instead of hanging the probe
    assert_outage(response, seconds, down="redis", up="database")
    assert check(response, "redis")["error"] == "timed out"
    # And once Redis answers again, so does /ready
    recovered = await ready_again(ready_client)
    assert recovered.status_code == 200, recovered.text
