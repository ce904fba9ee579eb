"""One session, one Actor: an API client (Authorization header) and the web pages (session
cookie) of the same session are the same caller."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from keel.auth.dependencies import CurrentActor, actor_for_token
from keel.config import Settings
from keel.kit.deps import AppResources, DbSession, Resources
from keel.kit.routing import api_router
from keel.web.rules import SESSION_COOKIE
from tests.auth.helpers_tokens import bearer, create_user, logged_in
from tests.helpers.app import client_for

probe = api_router(prefix="/probe")


@probe.get("/header")
async def from_header(actor: CurrentActor) -> dict[str, str | None]:
    return {"kind": actor.kind, "id": actor.id, "sid": str(actor.session_id)}


@probe.get("/cookie")
async def from_cookie(
    request: Request, db: DbSession, resources: AppResources
) -> dict[str, str | None]:
    actor = await actor_for_token(
        request, request.cookies[SESSION_COOKIE], db=db, resources=resources
    )
    return {"kind": actor.kind, "id": actor.id, "sid": str(actor.session_id)}


@pytest.fixture
async def probe_client(
    settings: Settings, resources: Resources
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(settings, resources, probe, base_url="https://testserver") as c:
        yield c


async def test_actor__header_and_cookie_of_one_session__same_actor(
    probe_client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await create_user(db)
    tokens = await logged_in(probe_client)
    via_header = await probe_client.get(
        "/api/v1/probe/header", headers=bearer(tokens["access_token"])
    )
    probe_client.cookies.set(SESSION_COOKIE, tokens["access_token"])
    via_cookie = await probe_client.get("/api/v1/probe/cookie")
    assert via_header.status_code == via_cookie.status_code == 200
    assert via_header.json() == via_cookie.json()
    assert via_header.json()["kind"] == "user"


async def test_api__session_cookie_alone__not_authenticated(
    probe_client: httpx.AsyncClient, db: AsyncSession
) -> None:
    # The JSON API never authenticates by cookie (no CSRF protection there).
    await create_user(db)
    tokens = await logged_in(probe_client)
    probe_client.cookies.set(SESSION_COOKIE, tokens["access_token"])
    assert (await probe_client.get("/api/v1/me")).status_code == 401
