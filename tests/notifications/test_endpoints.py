"""The inbox and preferences API (``/api/v1/me/...``) and the public unsubscribe link: each
endpoint anonymous (401), another user's notification (404), bad input (422), success."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.notifications import rules, service
from tests.helpers.tenancy import Caller, make_caller

ME = "/api/v1/me"
ANY_ID = uuid.UUID("01900000-0000-7000-8000-000000000001")


async def inbox_of(db: AsyncSession, caller: Caller, count: int = 1) -> list[uuid.UUID]:
    ids = []
    for n in range(count):
        notification_id = await service.notify(
            db, user_id=caller.user.id, kind="test.notice", title=f"N{n}", body="b", link="/x"
        )
        assert notification_id is not None
        ids.append(notification_id)
    return ids


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"{ME}/notifications"),
        ("GET", f"{ME}/notifications/stream"),
        ("POST", f"{ME}/notifications/read-all"),
        ("POST", f"{ME}/notifications/{ANY_ID}/read"),
        ("GET", f"{ME}/notification-preferences"),
        ("PUT", f"{ME}/notification-preferences"),
    ],
)
async def test_me_routes__anonymous__401(client: httpx.AsyncClient, method: str, path: str) -> None:
    answer = await client.request(method, path, json={} if method == "PUT" else None)
    assert answer.status_code == 401
    assert answer.json()["code"] == "not_authenticated"


async def test_list__own_inbox__items_cursor_and_unread_count(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a user with three notifications and another user with one
    me, other = await make_caller(db, settings), await make_caller(db, settings)
    ids = await inbox_of(db, me, 3)
    await inbox_of(db, other)
    # When the first page of two is asked for
    answer = await client.get(f"{ME}/notifications", params={"limit": 2}, headers=me.headers)
    # Then only the caller's, newest first, with the count of unread
    assert answer.status_code == 200
    body = answer.json()
    assert [item["id"] for item in body["items"]] == [str(i) for i in ids[:0:-1]]
    assert body["unread_count"] == 3 and body["next_cursor"]
    assert body["items"][0]["link"] == "/x" and body["items"][0]["read_at"] is None


async def test_read_one__own__204_then_filtered_out_of_unread(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    me = await make_caller(db, settings)
    first, second = await inbox_of(db, me, 2)
    answer = await client.post(f"{ME}/notifications/{first}/read", headers=me.headers)
    assert answer.status_code == 204
    unread = await client.get(f"{ME}/notifications?unread=true", headers=me.headers)
    assert [item["id"] for item in unread.json()["items"]] == [str(second)]
    assert unread.json()["unread_count"] == 1


async def test_read_one__another_users_notification__404(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    me, other = await make_caller(db, settings), await make_caller(db, settings)
    [theirs] = await inbox_of(db, other)
    answer = await client.post(f"{ME}/notifications/{theirs}/read", headers=me.headers)
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", f"{ME}/notifications/not-a-uuid/read", None),
        ("GET", f"{ME}/notifications?limit=0", None),
        ("PUT", f"{ME}/notification-preferences", {"subscribed": {"security": False}}),
        ("PUT", f"{ME}/notification-preferences", {"subscribed": {}}),
        ("PUT", f"{ME}/notification-preferences", {"subscribed": {"usage": "maybe"}}),
    ],
)
async def test_me_routes__bad_input__422(
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    me = await make_caller(db, settings)
    answer = await client.request(method, path, json=body, headers=me.headers)
    assert answer.status_code == 422
    assert answer.json()["code"] == "validation_error"


async def test_read_all__own_inbox__count_zero(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    me = await make_caller(db, settings)
    await inbox_of(db, me, 2)
    answer = await client.post(f"{ME}/notifications/read-all", headers=me.headers)
    assert answer.status_code == 200 and answer.json() == {"unread_count": 0}
    listed = await client.get(f"{ME}/notifications", headers=me.headers)
    assert listed.json()["unread_count"] == 0


async def test_preferences__turn_usage_off__listed_as_unsubscribed(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    me = await make_caller(db, settings)
    before = await client.get(f"{ME}/notification-preferences", headers=me.headers)
    assert {c["category"] for c in before.json()["categories"]} == set(rules.CATEGORIES)
    answer = await client.put(
        f"{ME}/notification-preferences", json={"subscribed": {"usage": False}}, headers=me.headers
    )
    assert answer.status_code == 200
    states = {c["category"]: c["subscribed"] for c in answer.json()["categories"]}
    assert states == {"onboarding": True, "product": True, "usage": False}


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_unsubscribe__bad_token__400_problem(client: httpx.AsyncClient, method: str) -> None:
    answer = await client.request(
        method, "/api/v1/notifications/unsubscribe", params={"token": "forged.token.here"}
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_unsubscribe_link"


async def test_unsubscribe__no_token__422(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/v1/notifications/unsubscribe")
    assert answer.status_code == 422


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_unsubscribe__valid_token_twice__idempotent_200(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, method: str
) -> None:
    me = await make_caller(db, settings)
    token = rules.unsubscribe_token(me.user.id, "product", key=service.unsubscribe_key(settings))
    url = "/api/v1/notifications/unsubscribe"
    answers = [await client.request(method, url, params={"token": token}) for _ in range(2)]
    assert [a.json() for a in answers] == [{"category": "product", "subscribed": False}] * 2
    prefs = await client.get(f"{ME}/notification-preferences", headers=me.headers)
    assert {c["category"]: c["subscribed"] for c in prefs.json()["categories"]}["product"] is False
