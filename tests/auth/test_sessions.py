"""The caller's sessions over HTTP, and the one-winner rule for concurrent refreshes."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.auth.errors import RefreshTokenInvalid
from keel.auth.models import AuthSession, RefreshToken
from keel.auth.service import login as login_service
from keel.auth.service import sessions, throttle
from keel.kit.db import Database, create_engine
from keel.kit.deps import Resources
from tests.auth.helpers_tokens import bearer, create_user, logged_in
from tests.kit.test_http import assert_problem


@pytest.fixture(autouse=True)
def no_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    async def instant(_seconds: float) -> None:
        return None

    monkeypatch.setattr(throttle, "pause", instant)


async def test_list_sessions__two_logins__current_one_flagged(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await create_user(db)
    mine, _other = await logged_in(client), await logged_in(client, ip="192.0.2.44")
    response = await client.get("/api/v1/me/sessions", headers=bearer(mine["access_token"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    assert sorted(item["current"] for item in body["items"]) == [False, True]
    assert {item["ip"] for item in body["items"]} == {"198.51.100.1", "192.0.2.44"}


async def test_delete_session__own_other_device__its_tokens_stop(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given two sessions of one user
    await create_user(db)
    mine, other = await logged_in(client), await logged_in(client)
    listed = await client.get("/api/v1/me/sessions", headers=bearer(mine["access_token"]))
    other_id = next(i["id"] for i in listed.json()["items"] if not i["current"])
    # When the first ends the second
    response = await client.delete(
        f"/api/v1/me/sessions/{other_id}", headers=bearer(mine["access_token"])
    )
    # Then the second's access token is refused at once, the first keeps working
    assert response.status_code == 204
    gone = await client.get("/api/v1/me", headers=bearer(other["access_token"]))
    assert_problem(gone, 401, "not_authenticated")
    assert (await client.get("/api/v1/me", headers=bearer(mine["access_token"]))).status_code == 200


async def test_delete_session__another_users_session__404_and_untouched(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given two users, each logged in
    await create_user(db)
    await create_user(db, email="linus@example.com", name="Linus")
    grace, linus = await logged_in(client), await logged_in(client, email="linus@example.com")
    listed = await client.get("/api/v1/me/sessions", headers=bearer(linus["access_token"]))
    linus_session = listed.json()["items"][0]["id"]
    # When Grace tries to end Linus's session, or one that does not exist
    for target in (linus_session, str(uuid.uuid4())):
        response = await client.delete(
            f"/api/v1/me/sessions/{target}", headers=bearer(grace["access_token"])
        )
        # Then both look the same: not found
        assert_problem(response, 404, "not_found")
    assert (
        await client.get("/api/v1/me", headers=bearer(linus["access_token"]))
    ).status_code == 200


async def test_revoke_others__three_sessions__only_current_survives(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await create_user(db)
    mine, a, b = await logged_in(client), await logged_in(client), await logged_in(client)
    response = await client.post(
        "/api/v1/me/sessions/revoke-others", headers=bearer(mine["access_token"])
    )
    assert response.status_code == 200 and response.json() == {"revoked": 2}
    for pair in (a, b):
        me = await client.get("/api/v1/me", headers=bearer(pair["access_token"]))
        assert_problem(me, 401, "not_authenticated")
    assert (await client.get("/api/v1/me", headers=bearer(mine["access_token"]))).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/me/sessions"),
        ("DELETE", "/api/v1/me/sessions/00000000-0000-4000-8000-000000000000"),
        ("POST", "/api/v1/me/sessions/revoke-others"),
    ],
)
async def test_me_endpoints__anonymous__401(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    assert_problem(await client.request(method, path), 401, "not_authenticated")


async def test_refresh__two_concurrent_with_one_token__exactly_one_winner(
    committed_resources: Resources,
) -> None:
    # Given a committed session with one refresh token
    resources, settings = committed_resources, committed_resources.settings
    async with resources.database.transaction() as db:
        user = await create_user(db)
        _, token = await sessions.start(
            db,
            Actor.system(),
            user,
            ip=None,
            user_agent=None,
            cache=resources.cache,
            settings=settings,
        )
    # When two processes (separate engines, so separate connections) refresh it at once
    racers = [Database(create_engine(settings)) for _ in range(2)]
    try:
        results = await asyncio.gather(
            *(_refresh_in(racer, resources, token) for racer in racers), return_exceptions=True
        )
    finally:
        for racer in racers:
            await racer.dispose()
    # Then exactly one gets a new pair; the other is refused without ending the session
    winners = [r for r in results if isinstance(r, login_service.TokenPair)]
    losers = [r for r in results if isinstance(r, RefreshTokenInvalid)]
    assert (len(winners), len(losers)) == (1, 1), results
    async with resources.database.transaction() as db:
        assert (await db.scalars(select(AuthSession))).one().revoked_at is None
        assert len((await db.scalars(select(RefreshToken))).all()) == 2


async def _refresh_in(
    database: Database, resources: Resources, token: str
) -> login_service.TokenPair:
    async with database.transaction() as db:
        return await login_service.refresh(
            db, Actor.system(), token, cache=resources.cache, settings=resources.settings
        )
