"""The per-IP budget on every ``/api/v1/auth/*`` route: CONTRACT headers on each answer, a
429 past the limit, a fresh window when Retry-After says, one budget across server processes
sharing Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from keel.auth.dependencies import auth_ip_limit
from keel.config import Settings
from keel.kit.broadcast import Broadcast
from keel.kit.cache import Cache, RedisCache
from keel.kit.db import Database
from keel.kit.deps import Resources
from tests.architecture.test_route_guards import dependency_calls
from tests.architecture.test_routes import api_routes
from tests.conftest import TEST_REDIS_URL, requires_redis
from tests.helpers.app import client_for
from tests.kit.test_http import RATE_LIMIT_HEADERS as CONTRACT_HEADERS
from tests.kit.test_http import assert_problem

LIMIT, WINDOW = 3, 2
FORGOT = "/api/v1/auth/password/forgot"


def with_auth_limit(settings: Settings, *, per_ip: int = LIMIT, window: int = WINDOW) -> Settings:
    limits = settings.ratelimit.model_copy(
        update={"auth_per_ip": per_ip, "auth_window_seconds": window}
    )
    return settings.model_copy(update={"ratelimit": limits})


async def fresh_window(seconds: int, *, at_least: float = 1.0) -> None:
    """Wait for the next window when less than ``at_least`` seconds are left in this one, so
    a test's requests all fall in one window."""
    left = seconds - time.time() % seconds
    if left < at_least:
        await asyncio.sleep(left + 0.01)


async def forgot(client: httpx.AsyncClient, ip: str) -> httpx.Response:
    return await forgot_from(client, ip)


async def forgot_from(client: httpx.AsyncClient, ip: str, **headers: str) -> httpx.Response:
    return await client.post(
        FORGOT, json={"email": "nobody@example.com"}, headers={"X-Forwarded-For": ip, **headers}
    )


@pytest.fixture
async def tight_client(
    settings: Settings, database: Database, cache: Cache, broadcast: Broadcast
) -> AsyncIterator[httpx.AsyncClient]:
    tight = with_auth_limit(settings)
    async with client_for(tight, Resources(tight, database, cache, broadcast)) as client:
        yield client


async def test_auth_route__past_per_ip_limit__429_with_every_contract_header_and_field(
    tight_client: httpx.AsyncClient,
) -> None:
    # Given an address that spent its budget of 3 within one window
    await fresh_window(WINDOW)
    spent = [await forgot(tight_client, "203.0.113.5") for _ in range(LIMIT)]
    assert [r.status_code for r in spent] == [202] * LIMIT
    assert [r.headers["X-RateLimit-Remaining"] for r in spent] == ["2", "1", "0"]
    # When it calls an auth route again
    response = await forgot(tight_client, "203.0.113.5")
    # Then it is refused with 429 rate_limited, every CONTRACT header and body field
    body = assert_problem(response, 429, "rate_limited")
    assert all(name in response.headers for name in (*CONTRACT_HEADERS, "Retry-After"))
    assert response.headers["X-RateLimit-Limit"] == str(LIMIT)
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert response.headers["RateLimit-Policy"] == f"{LIMIT};w={WINDOW}"
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= WINDOW
    reset = int(response.headers["X-RateLimit-Reset"])
    assert reset % WINDOW == 0 and time.time() < reset <= time.time() + WINDOW
    assert response.headers["RateLimit"] == f"limit={LIMIT}, remaining=0, reset={retry_after}"
    assert (body["limit"], body["window"], body["retry_after"]) == (LIMIT, WINDOW, retry_after)
    # And another address keeps its own budget
    assert (await forgot(tight_client, "203.0.113.6")).status_code == 202


async def test_auth_route__retry_after_waited__allowed_again(
    tight_client: httpx.AsyncClient,
) -> None:
    # Given an address refused with a Retry-After
    await fresh_window(WINDOW)
    for _ in range(LIMIT):
        await forgot(tight_client, "203.0.113.7")
    refused = await forgot(tight_client, "203.0.113.7")
    assert refused.status_code == 429
    # When it waits as long as Retry-After announced
    await asyncio.sleep(int(refused.headers["Retry-After"]))
    # Then the next request is allowed, in a fresh window
    again = await forgot(tight_client, "203.0.113.7")
    assert again.status_code == 202
    assert again.headers["X-RateLimit-Remaining"] == str(LIMIT - 1)


async def test_auth_route__success_and_failure__both_carry_rate_limit_headers(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    # When one address signs up, then sends a refresh token that is not valid
    ip = {"X-Forwarded-For": "192.0.2.44"}
    body = {"email": "limits@example.com", "password": "correct horse battery staple", "name": "L"}
    created = await client.post("/api/v1/auth/register", json=body, headers=ip)
    refused = await client.post("/api/v1/auth/refresh", json={"refresh_token": "x"}, headers=ip)
    # Then both answers carry the per-IP budget (default 60 a minute), counting down
    assert created.status_code == 201, created.text
    assert refused.status_code == 401
    limit = settings.ratelimit.auth_per_ip
    for answer, remaining in ((created, limit - 1), (refused, limit - 2)):
        assert all(name in answer.headers for name in CONTRACT_HEADERS)
        assert answer.headers["X-RateLimit-Limit"] == str(limit)
        assert answer.headers["X-RateLimit-Remaining"] == str(remaining)
        assert "Retry-After" not in answer.headers


async def test_non_auth_route__any__no_per_ip_budget(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/me", headers={"X-Forwarded-For": "192.0.2.45"})
    assert response.status_code == 401
    assert "X-RateLimit-Limit" not in response.headers


def test_auth_routes__every_one__depends_on_the_per_ip_limit(app: FastAPI) -> None:
    # Given every route of the application under /api/v1/auth/
    routes = {
        f"{','.join(sorted(route.methods or ()))} {path}": set(dependency_calls(route.dependant))
        for path, route in api_routes(app.router.routes)
        if path.startswith("/api/v1/auth/")
    }
    assert len(routes) >= 10, routes  # a broken walk must not pass vacuously
    # Then each depends on the per-IP limit, and elsewhere only the web's credential forms do
    unlimited = sorted(key for key, calls in routes.items() if auth_ip_limit not in calls)
    assert not unlimited, f"{unlimited} lack dependencies=[AuthIpLimit]"
    elsewhere = sorted(
        path
        for path, route in api_routes(app.router.routes)
        if not path.startswith("/api/v1/auth/")
        and auth_ip_limit in set(dependency_calls(route.dependant))
    )
    assert elsewhere == [
        "/login",
        "/login/mfa",
        "/password/forgot",
        "/reset-password",
        "/signup",
        "/unlock",
        "/verify-email",
        "/verify-email/resend",
    ]


@requires_redis
async def test_auth_route__two_servers_on_one_redis__one_budget_shared_exactly(
    settings: Settings, committed_database: Database, broadcast: Broadcast
) -> None:
    # Given two server processes' worth of resources (own Redis clients, one Redis; a real
    # connection pool, as the requests run at once)
    assert TEST_REDIS_URL is not None
    tight = with_auth_limit(settings, per_ip=10, window=60)
    prefix = f"{settings.redis.prefix}{uuid.uuid4().hex[:8]}:"
    clients = [Redis.from_url(TEST_REDIS_URL), Redis.from_url(TEST_REDIS_URL)]
    async with AsyncExitStack() as stack:
        servers = [
            await stack.enter_async_context(
                client_for(
                    tight,
                    Resources(tight, committed_database, RedisCache(c, prefix=prefix), broadcast),
                )
            )
            for c in clients
        ]
        await fresh_window(60, at_least=5)
        # When one address sends 24 requests at once, half to each server
        answers = await asyncio.gather(
            *(forgot(servers[n % 2], "198.51.100.99") for n in range(24))
        )
    keys = [key async for key in clients[0].scan_iter(match=f"{prefix}*")]
    if keys:
        await clients[0].delete(*keys)
    for c in clients:
        await c.aclose()
    # Then exactly 10 were let through between them
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [202] * 10 + [429] * 14


async def test_cross_origin_call__rate_limit_headers__exposed_to_the_browser(
    settings: Settings, resources: Resources
) -> None:
    # Given an app that allows one browser origin
    origin = "https://app.example"
    cors = settings.model_copy(
        update={"http": settings.http.model_copy(update={"cors_origins": [origin]})}
    )
    # When that origin calls an auth route
    async with client_for(cors, resources) as client:
        response = await forgot_from(client, "192.0.2.46", origin=origin)
    # Then the browser may read every rate-limit header
    exposed = {
        name.strip() for name in response.headers["access-control-expose-headers"].split(",")
    }
    assert {*CONTRACT_HEADERS, "Retry-After"} <= exposed
