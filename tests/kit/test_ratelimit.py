"""Rate limiting: the fixed-window arithmetic, the in-process limiter, the Redis limiter (one
round trip per decision, shared exactly between processes), its failover when Redis dies, and
the HTTP helper that puts the CONTRACT's headers on every answer."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from structlog.testing import capture_logs

from keel.config import Settings
from keel.kit import ratelimit
from keel.kit.cache import Cache, MemoryCache, RedisCache
from keel.kit.deps import AppResources, Resources
from keel.kit.errors import NotFound, ServiceUnavailable
from keel.kit.ratelimit import (
    Decision,
    FailoverLimiter,
    FailureMode,
    MemoryLimiter,
    RedisLimiter,
)
from keel.kit.routing import api_router
from tests.conftest import TEST_REDIS_URL, requires_redis
from tests.helpers.app import client_for
from tests.helpers.redis_server import (
    REDIS_SERVER,
    ThrowawayRedis,
    start_redis_server,
    throwaway_redis,
    wait_until_up,
)
from tests.kit.test_http import RATE_LIMIT_HEADERS as CONTRACT_HEADERS
from tests.kit.test_http import assert_problem

needs_redis_server = pytest.mark.skipif(
    TEST_REDIS_URL is None or REDIS_SERVER is None,
    reason="Redis-only: set KEEL_TEST_REDIS_URL (and have redis-server on PATH) to run",
)


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def decide_many(
    limiter: ratelimit.Limiter, key: str, count: int, **kw: int
) -> list[Decision]:
    return list(await asyncio.gather(*(limiter.decide(key, **kw) for _ in range(count))))


def fallbacks(mode: FailureMode) -> float:
    value = REGISTRY.get_sample_value("keel_ratelimit_fallbacks_total", {"mode": mode})
    return value or 0.0


async def until(condition: Callable[[], bool], *, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


# The arithmetic.


@pytest.mark.parametrize(
    ("now", "seconds", "end"),
    [(1_000.5, 900, 1_800), (1_800.0, 900, 2_700), (59.999, 60, 60), (61.0, 1, 62)],
)
def test_window_end__any_time__next_multiple_of_the_window(
    now: float, seconds: int, end: float
) -> None:
    assert ratelimit.window_end(now, seconds) == end


@pytest.mark.parametrize(
    ("used", "allowed", "remaining", "retry_after"),
    [(0, True, 3, 0), (1, True, 2, 0), (3, True, 0, 10), (4, False, 0, 10), (99, False, 0, 10)],
)
def test_decision__used_against_limit__allowed_remaining_retry_after(
    used: int, allowed: bool, remaining: int, retry_after: int
) -> None:
    # Given a limit of 3 in a window ending 9.25 s from now
    result = ratelimit.decision(
        limit=3, used=used, window_seconds=60, expires_at=1_020.0, now=1_010.75
    )
    # Then the verdict and the wait are the window's, rounded up to whole seconds
    assert (result.allowed, result.remaining, result.retry_after) == (
        allowed,
        remaining,
        retry_after,
    )
    assert (result.reset_at, result.reset_after) == (1_020, 10)


def test_decision_headers__refused__every_contract_header_and_retry_after() -> None:
    # Given a refused decision
    result = ratelimit.decision(limit=5, used=6, window_seconds=60, expires_at=1_020, now=1_000.5)
    # Then it carries the CONTRACT's headers, Retry-After until the window's end
    assert result.headers == {
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "1020",
        "RateLimit-Policy": "5;w=60",
        "RateLimit": "limit=5, remaining=0, reset=20",
        "Retry-After": "20",
    }


def test_decision_headers__budget_left__no_retry_after() -> None:
    result = ratelimit.decision(limit=5, used=2, window_seconds=60, expires_at=1_020, now=1_000)
    assert result.headers["X-RateLimit-Remaining"] == "3"
    assert "Retry-After" not in result.headers


# The in-process limiter.


async def test_memory_limiter__concurrent_decisions__exactly_limit_allowed() -> None:
    # Given a limit of 50 and 200 decisions racing for it
    limiter = MemoryLimiter()
    # When they all run at once
    results = await decide_many(limiter, "k", 200, limit=50, window_seconds=60)
    # Then exactly 50 are allowed, and every count from 1 to 200 was handed out once
    assert sum(r.allowed for r in results) == 50
    assert sorted(r.used for r in results) == list(range(1, 201))


async def test_memory_limiter__window_ends__fresh_budget_at_announced_reset() -> None:
    # Given a budget of 2 per 10 s spent at 1000.25
    clock = FakeClock(1_000.25)
    limiter = MemoryLimiter(clock=clock)
    await decide_many(limiter, "k", 2, limit=2, window_seconds=10)
    refused = await limiter.decide("k", limit=2, window_seconds=10)
    # Then the refusal announces the window's end
    assert not refused.allowed
    assert (refused.reset_at, refused.retry_after) == (1_010, 10)
    # When the clock reaches just before that end, still refused; at it, allowed again
    clock.now = 1_009.999
    assert not (await limiter.decide("k", limit=2, window_seconds=10)).allowed
    clock.now = 1_010.0
    fresh = await limiter.decide("k", limit=2, window_seconds=10)
    assert (fresh.allowed, fresh.used, fresh.reset_at) == (True, 1, 1_020)


async def test_memory_limiter__windows_over__counters_evicted() -> None:
    # Given 1,000 keys counted in one window
    clock = FakeClock(5_000.0)
    limiter = MemoryLimiter(clock=clock)
    for n in range(1_000):
        await limiter.decide(f"ip-{n}", limit=10, window_seconds=60)
    assert len(limiter) == 1_000
    # When the window is over and one more decision is made
    clock.now = 5_060.0
    await limiter.decide("late", limit=10, window_seconds=60)
    # Then only the live counter is held
    assert len(limiter) == 1


async def test_memory_limiter__max_keys_reached__soonest_to_end_dropped() -> None:
    # Given a limiter holding at most 2 counters, one in a short window and one in a long one
    clock = FakeClock(1_000.0)
    limiter = MemoryLimiter(max_keys=2, clock=clock)
    await limiter.decide("short", limit=1, window_seconds=10)
    await limiter.decide("long", limit=1, window_seconds=3_600)
    # When a third key is counted
    await limiter.decide("third", limit=1, window_seconds=60)
    # Then the counter nearest its end was dropped (its count forgotten), the others kept
    assert len(limiter) == 2
    assert (await limiter.decide("short", limit=1, window_seconds=10)).allowed
    assert not (await limiter.decide("long", limit=1, window_seconds=3_600)).allowed


async def test_memory_limiter__cost_zero__reads_without_counting() -> None:
    limiter = MemoryLimiter()
    assert (await limiter.decide("k", limit=3, window_seconds=60, cost=0)).used == 0
    assert len(limiter) == 0
    await limiter.decide("k", limit=3, window_seconds=60, cost=2)
    peek = await limiter.decide("k", limit=3, window_seconds=60, cost=0)
    assert (peek.used, peek.remaining) == (2, 1)


# Whatever limiter the backend configures (Redis with KEEL_TEST_REDIS_URL, else in-process).


@pytest.fixture
def limiter(cache: Cache, settings: Settings) -> ratelimit.Limiter:
    return ratelimit.limiter_for(cache, settings)


async def test_configured_limiter__counts_until_over__contract_headers(
    limiter: ratelimit.Limiter,
) -> None:
    # When four decisions are made against a limit of 3
    results = [await limiter.decide("probe", limit=3, window_seconds=3_600) for _ in range(4)]
    # Then the fourth is refused, with the CONTRACT's headers
    assert [r.used for r in results] == [1, 2, 3, 4]
    assert [r.allowed for r in results] == [True, True, True, False]
    last = results[-1]
    assert last.headers["X-RateLimit-Limit"] == "3"
    assert last.headers["X-RateLimit-Remaining"] == "0"
    assert last.headers["Retry-After"] == str(last.retry_after)
    assert 0 < last.retry_after <= 3_600
    assert last.reset_at == math.floor(time.time() / 3_600 + 1) * 3_600


async def test_configured_limiter__separate_keys__separate_budgets(
    limiter: ratelimit.Limiter,
) -> None:
    await limiter.decide("a", limit=1, window_seconds=60)
    assert (await limiter.decide("b", limit=1, window_seconds=60)).allowed
    assert not (await limiter.decide("a", limit=1, window_seconds=60)).allowed


async def test_limiter_for__cache_kind__matching_limiter(settings: Settings) -> None:
    # Given an in-process cache and a Redis one
    memory = ratelimit.limiter_for(MemoryCache(), settings)
    redis_cache = RedisCache(Redis(), prefix="keel:probe:")
    shared = ratelimit.limiter_for(redis_cache, settings)
    await redis_cache.close()
    # Then the first limits in-process, the second in Redis with the configured failover
    assert isinstance(memory, MemoryLimiter)
    assert isinstance(shared, FailoverLimiter)
    assert isinstance(shared.primary, RedisLimiter)
    assert shared.primary.prefix == "keel:probe:ratelimit:"
    assert shared.mode == settings.ratelimit.on_redis_failure == "fallback"


# Redis: shared, one round trip, and the failover.


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    assert TEST_REDIS_URL is not None
    prefix = f"keel:test:ratelimit:{uuid.uuid4().hex[:8]}:"
    yield prefix
    client = Redis.from_url(TEST_REDIS_URL)
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@requires_redis
async def test_redis_limiter__two_processes_at_once__exactly_limit_allowed_in_total(
    redis_prefix: str,
) -> None:
    # Given two independent clients (as two server processes would hold) on one Redis
    assert TEST_REDIS_URL is not None
    first, second = Redis.from_url(TEST_REDIS_URL), Redis.from_url(TEST_REDIS_URL)
    limiters = [RedisLimiter(first, prefix=redis_prefix), RedisLimiter(second, prefix=redis_prefix)]
    try:
        # When each makes 60 decisions at once against one limit of 50
        batches = await asyncio.gather(
            *(
                decide_many(limiter, "org:1", 60, limit=50, window_seconds=60)
                for limiter in limiters
            )
        )
        stored = await first.get(f"{redis_prefix}org:1")
    finally:
        await first.aclose()
        await second.aclose()
    # Then exactly 50 are allowed between them, each count handed out once
    results = [r for batch in batches for r in batch]
    assert sum(r.allowed for r in results) == 50
    assert sorted(r.used for r in results) == list(range(1, 121))
    assert stored == b"120"


@needs_redis_server
async def test_redis_limiter__each_decision__one_round_trip() -> None:
    async with throwaway_redis() as server:
        client = Redis.from_url(server.url)
        limiter = RedisLimiter(client, prefix="rt:")
        # Given the script already loaded (the first decision loads it)
        await limiter.decide("warm", limit=10, window_seconds=60)
        await client.config_resetstat()
        # When 25 decisions are made on a fresh key
        for _ in range(25):
            await limiter.decide("k", limit=10, window_seconds=60)
        stats = await client.info("commandstats")
        await client.aclose()
    # Then the server ran one EVALSHA each and no other command from the client; INCRBY and
    # PTTL (and PEXPIRE once) ran inside the script
    calls = {name.removeprefix("cmdstat_"): int(entry["calls"]) for name, entry in stats.items()}
    calls.pop("info", None)  # INFO counts itself only after answering
    assert calls == {"evalsha": 25, "incrby": 25, "pttl": 25, "pexpire": 1, "config|resetstat": 1}


@needs_redis_server
async def test_redis_limiter__concurrent_burst__one_pipeline_one_connection_exact() -> None:
    async with throwaway_redis() as server:
        client = Redis.from_url(server.url)
        limiter = RedisLimiter(client, prefix="burst:")
        await limiter.decide("warm", limit=10, window_seconds=60)
        await client.config_resetstat()
        # When 40 requests decide at once against a limit of 25
        results = await decide_many(limiter, "k", 40, limit=25, window_seconds=60)
        stats = await client.info("commandstats")
        pool = client.connection_pool
        connections = len(pool._available_connections) + len(pool._in_use_connections)
        await client.aclose()
    # Then the counts are exact, one EVALSHA each ran on the server, and the burst went
    # out together on one connection (not one connection per waiting request)
    assert sum(r.allowed for r in results) == 25
    assert sorted(r.used for r in results) == list(range(1, 41))
    assert int(stats["cmdstat_evalsha"]["calls"]) == 40
    assert connections == 1


@needs_redis_server
async def test_redis_limiter__script_cache_flushed__loaded_again_and_counting_goes_on() -> None:
    async with throwaway_redis() as server:
        client = Redis.from_url(server.url)
        limiter = RedisLimiter(client, prefix="flush:")
        await limiter.decide("k", limit=5, window_seconds=60)
        # When the server forgets its scripts (as after a restart)
        await client.script_flush()
        # Then the next decision loads the script again and counts on
        result = await limiter.decide("k", limit=5, window_seconds=60)
        await client.aclose()
    assert (result.used, result.remaining) == (2, 3)


@requires_redis
async def test_redis_limiter__window_ends__allowed_again_as_announced(redis_prefix: str) -> None:
    # Given a budget of 1 per second, spent, and a refusal announcing the reset
    assert TEST_REDIS_URL is not None
    client = Redis.from_url(TEST_REDIS_URL)
    limiter = RedisLimiter(client, prefix=redis_prefix)
    await limiter.decide("k", limit=1, window_seconds=1)
    refused = await limiter.decide("k", limit=1, window_seconds=1)
    if refused.allowed:  # the first decision fell at the very end of a window
        refused = await limiter.decide("k", limit=1, window_seconds=1)
    assert not refused.allowed and refused.retry_after == 1
    # When the client waits Retry-After
    await asyncio.sleep(refused.retry_after)
    # Then the window is fresh
    again = await limiter.decide("k", limit=1, window_seconds=1)
    await client.aclose()
    assert (again.allowed, again.used) == (True, 1)


def failover_over(server: ThrowawayRedis, mode: FailureMode, **kw: Any) -> FailoverLimiter:
    client = Redis.from_url(server.url, socket_timeout=1, socket_connect_timeout=1)
    return FailoverLimiter(RedisLimiter(client, prefix="fo:"), MemoryLimiter(), mode=mode, **kw)


async def close_failover(limiter: FailoverLimiter) -> None:
    assert isinstance(limiter.primary, RedisLimiter)
    await limiter.primary.client.aclose()


@needs_redis_server
async def test_failover__redis_killed_mid_flight__in_process_keeps_answering_and_counted() -> None:
    async with throwaway_redis() as server:
        limiter = failover_over(server, "fallback", retry_seconds=60)
        before = fallbacks("fallback")
        answers: list[Decision] = []
        stop = asyncio.Event()

        async def keep_deciding() -> None:
            while not stop.is_set():
                answers.append(await limiter.decide("k", limit=10_000, window_seconds=60))
                await asyncio.sleep(0)

        # Given decisions flowing to Redis
        with capture_logs() as logs:
            flow = asyncio.create_task(keep_deciding())
            await until(lambda: len(answers) >= 20)
            # When the server is killed while they flow
            server.kill()
            await until(lambda: fallbacks("fallback") - before >= 20)
            stop.set()
            await flow  # never raised
        await close_failover(limiter)
    # Then every decision was answered; those after the kill by the in-process limiter, whose
    # count started afresh; the metric counted each and one line was logged
    served_by_memory = int(fallbacks("fallback") - before)
    assert all(answer.allowed for answer in answers)
    assert answers[-1].used == served_by_memory
    assert max(answer.used for answer in answers) >= 20
    failed = [entry for entry in logs if entry["event"] == "ratelimit.redis_failed"]
    assert len(failed) == 1
    assert failed[0]["mode"] == "fallback" and failed[0]["log_level"] == "warning"


@needs_redis_server
async def test_failover__redis_down_open__allowed_without_headers() -> None:
    async with throwaway_redis() as server:
        limiter = failover_over(server, "open")
        server.kill()
        before = fallbacks("open")
        results = [await limiter.decide("k", limit=1, window_seconds=60) for _ in range(3)]
        await close_failover(limiter)
    assert all(r.allowed and r.headers == {} for r in results)
    assert fallbacks("open") - before == 3


@needs_redis_server
async def test_failover__redis_down_closed__service_unavailable() -> None:
    async with throwaway_redis() as server:
        limiter = failover_over(server, "closed")
        server.kill()
        before = fallbacks("closed")
        with pytest.raises(ServiceUnavailable) as refused:
            await limiter.decide("k", limit=1, window_seconds=60)
        await close_failover(limiter)
    assert refused.value.status == 503 and refused.value.code == "service_unavailable"
    assert fallbacks("closed") - before == 1


@needs_redis_server
async def test_failover__redis_back__decisions_return_to_redis() -> None:
    async with throwaway_redis() as server:
        # Given Redis down long enough for a fallback decision
        limiter = failover_over(server, "fallback", retry_seconds=0.2)
        await limiter.decide("k", limit=10, window_seconds=60)
        server.kill()
        assert (await limiter.decide("k", limit=10, window_seconds=60)).used == 1
        # When it comes back and the retry interval has passed
        server.process = start_redis_server(server.port)
        await wait_until_up(server.port)
        await asyncio.sleep(0.25)
        before = fallbacks("fallback")
        with capture_logs() as logs:
            result = await limiter.decide("k", limit=10, window_seconds=60)
        await close_failover(limiter)
    # Then Redis answers again (a fresh server: its count restarts) and nothing falls back
    assert result.used == 1 and fallbacks("fallback") == before
    assert [entry["event"] for entry in logs] == ["ratelimit.redis_recovered"]


# The HTTP helper: 429 on refusal, the headers on every answer whatever the endpoint returns.

probe = api_router(prefix="/limited")


async def _limit(
    request: Request, resources: Resources, *, key: str = "probe", limit: int = 2
) -> None:
    await ratelimit.enforce(request, resources.limiter, key=key, limit=limit, window_seconds=60)


@probe.get("/raw")
async def raw(request: Request, resources: AppResources) -> Response:
    await _limit(request, resources)
    return Response(b"raw body", media_type="text/plain")


@probe.get("/stream")
async def stream(request: Request, resources: AppResources) -> StreamingResponse:
    await _limit(request, resources, key="stream")

    async def chunks() -> AsyncIterator[bytes]:
        yield b"a"
        yield b"b"

    return StreamingResponse(chunks(), media_type="text/plain")


@probe.get("/missing")
async def missing(request: Request, resources: AppResources) -> None:
    await _limit(request, resources, key="missing")
    raise NotFound("Nothing here.")


@probe.get("/two-limits")
async def two_limits(request: Request, resources: AppResources) -> dict[str, bool]:
    await _limit(request, resources, key="wide", limit=100)
    await _limit(request, resources, key="tight", limit=5)
    return {"ok": True}


@pytest.fixture
async def limited_client(
    settings: Settings, resources: Resources
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(settings, resources, probe) as client:
        yield client


@pytest.mark.parametrize("path", ["/api/v1/limited/raw", "/api/v1/limited/stream"])
async def test_enforce__allowed_raw_or_streamed_response__carries_contract_headers(
    limited_client: httpx.AsyncClient, path: str
) -> None:
    # When an endpoint that returns its own Response object is within its limit
    response = await limited_client.get(path)
    # Then the middleware added the decision's headers to it
    assert response.status_code == 200
    assert all(name in response.headers for name in CONTRACT_HEADERS)
    assert response.headers["X-RateLimit-Limit"] == "2"
    assert response.headers["X-RateLimit-Remaining"] == "1"
    assert response.headers["RateLimit-Policy"] == "2;w=60"


async def test_enforce__over_limit__429_problem_with_headers_and_fields(
    limited_client: httpx.AsyncClient,
) -> None:
    # Given the limit of 2 spent
    for _ in range(2):
        assert (await limited_client.get("/api/v1/limited/raw")).status_code == 200
    # When a third request comes
    response = await limited_client.get("/api/v1/limited/raw")
    # Then it is refused with every CONTRACT header and body field
    body = assert_problem(response, 429, "rate_limited")
    assert all(name in response.headers for name in (*CONTRACT_HEADERS, "Retry-After"))
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert (body["limit"], body["window"]) == (2, 60)
    assert body["retry_after"] == int(response.headers["Retry-After"])
    assert 0 < int(response.headers["Retry-After"]) <= 60


async def test_enforce__endpoint_fails_after__error_carries_headers(
    limited_client: httpx.AsyncClient,
) -> None:
    response = await limited_client.get("/api/v1/limited/missing")
    assert_problem(response, 404, "not_found")
    assert response.headers["X-RateLimit-Remaining"] == "1"


async def test_enforce__two_limits__tightest_shown(limited_client: httpx.AsyncClient) -> None:
    response = await limited_client.get("/api/v1/limited/two-limits")
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Limit"] == "5"
    assert response.headers["X-RateLimit-Remaining"] == "4"
