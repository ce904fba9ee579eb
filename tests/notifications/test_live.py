"""Live fan-out of in-app notifications: announced on the user's broadcast channel only once
the creating transaction commits; streamed as Server-Sent Events by the process the user is
connected to, whichever process created the notification (Redis), or in one process without
Redis (the in-process fallback: the SQLite run)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from keel.config import Settings
from keel.kit.db import Database
from keel.kit.deps import Resources
from keel.main import create_app
from keel.notifications import rules, service
from tests.conftest import requires_redis
from tests.helpers.servers import Server, running
from tests.helpers.tenancy import Caller, make_caller, make_org, make_user
from tests.notifications.mailserver import HOST, free_port

WAIT = 5.0


async def notify_committed(database: Database, user_id: uuid.UUID, title: str = "Hi") -> uuid.UUID:
    async with database.transaction() as session:
        notification_id = await service.notify(
            session, user_id=user_id, kind="test.notice", title=title, body="b"
        )
    assert notification_id is not None
    return notification_id


async def next_message(
    messages: AsyncIterator[dict[str, Any]], within: float = WAIT
) -> dict[str, Any] | None:
    try:
        return await asyncio.wait_for(anext(messages), within)
    except TimeoutError:
        return None


# ---- announced after commit only --------------------------------------------------------------


async def test_notify__committed__announced_on_the_users_channel(resources: Resources) -> None:
    # Given a subscriber to a user's channel
    async with resources.database.transaction() as session:
        user = await make_user(session)
    async with resources.broadcast.subscribe(rules.user_channel(user.id)) as messages:
        # When a notification for them commits
        notification_id = await notify_committed(resources.database, user.id, "Welcome")
        # Then the subscriber hears of it, with what the inbox shows
        message = await next_message(messages)
    assert message is not None
    assert message["type"] == "created"
    assert message["notification"]["id"] == str(notification_id)
    assert message["notification"]["title"] == "Welcome"


async def test_notify__rolled_back__never_announced(resources: Resources) -> None:
    async with resources.database.transaction() as session:
        user = await make_user(session)
    async with resources.broadcast.subscribe(rules.user_channel(user.id)) as messages:
        # Given a savepoint released inside a transaction that then fails
        with pytest.raises(RuntimeError):
            async with resources.database.transaction() as session:
                async with session.begin_nested():
                    await service.notify(session, user_id=user.id, kind="k", title="t", body="b")
                raise RuntimeError("the change that made the notification failed")
        # Then nothing was announced
        assert await next_message(messages, within=0.5) is None


# ---- the stream -------------------------------------------------------------------------------


def frames(text: str) -> list[tuple[str, dict[str, Any]]]:
    """``(event, data)`` of each complete SSE message in ``text`` (comments skipped)."""
    found = []
    for block in text.split("\n\n")[:-1]:
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":")
        )
        if "event" in fields:
            found.append((fields["event"], json.loads(fields["data"])))
    return found


async def read_until(
    lines: AsyncIterator[str], wanted: str, *, within: float = WAIT
) -> list[tuple[str, dict[str, Any]]]:
    """Read the stream until a ``wanted`` event and the message after it (its count)."""
    buffer = ""

    async def collect() -> list[tuple[str, dict[str, Any]]]:
        nonlocal buffer
        async for chunk in lines:
            buffer += chunk
            seen = frames(buffer)
            names = [name for name, _ in seen]
            if wanted in names and len(names) > names.index(wanted) + 1:
                return seen
        return frames(buffer)

    return await asyncio.wait_for(collect(), within)


async def test_stream__notification_committed__notification_then_unread_count(
    resources: Resources,
) -> None:
    # Given a user's open stream, which starts with the unread count
    async with resources.database.transaction() as session:
        user = await make_user(session)
    async with resources.broadcast.subscribe(rules.user_channel(user.id)) as messages:
        await notify_committed(resources.database, user.id, "Before")
        assert await next_message(messages) is not None  # announced: not the stream's news
    stream = service.stream(resources.database, resources.broadcast, user.id, heartbeat=0.2)
    try:
        first = await anext(stream)
        assert frames(first) == [("unread_count", {"unread_count": 1})]
        # When nothing happens for a while, a heartbeat comment keeps the connection open
        assert await anext(stream) == rules.SSE_HEARTBEAT
        # When a notification commits
        notification_id = await notify_committed(resources.database, user.id, "After")
        shown = await asyncio.wait_for(_skip_heartbeats(stream), WAIT)
        counted = await asyncio.wait_for(_skip_heartbeats(stream), WAIT)
    finally:
        await stream.aclose()
    # Then the notification, then the new count
    [(event, data)] = frames(shown)
    assert event == "notification" and data["id"] == str(notification_id)
    assert f"id: {notification_id}" in shown
    assert frames(counted) == [("unread_count", {"unread_count": 2})]


async def _skip_heartbeats(stream: AsyncIterator[str]) -> str:
    async for chunk in stream:
        if chunk != rules.SSE_HEARTBEAT:
            return chunk
    raise AssertionError("the stream ended")


@asynccontextmanager
async def served(settings: Settings, resources: Resources) -> AsyncIterator[str]:
    """The app on a real port of 127.0.0.1 in this process (ASGI test transports buffer a
    whole response, so they cannot show a stream)."""
    port = free_port()
    app = create_app(settings, resources=resources, run_worker=False)
    server = uvicorn.Server(uvicorn.Config(app, host=HOST, port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn has no event for it
        await asyncio.sleep(0.02)
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        await task


async def test_stream_endpoint__one_process__new_notification_streamed(
    settings: Settings, committed_resources: Resources
) -> None:
    # Given a user connected to the stream of a server (Redis when configured, else the
    # in-process broadcast)
    database = committed_resources.database
    async with database.transaction() as session:
        me = await make_caller(session, settings)
    async with (
        served(settings, committed_resources) as url,
        httpx.AsyncClient(timeout=WAIT) as http,
        http.stream("GET", f"{url}/api/v1/me/notifications/stream", headers=me.headers) as answer,
    ):
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        chunks = answer.aiter_text()
        assert frames(await anext(chunks)) == [("unread_count", {"unread_count": 0})]
        # When a notification for them commits
        notification_id = await notify_committed(database, me.user.id, "Live")
        # Then it is streamed, followed by the new unread count
        seen = await read_until(chunks, "notification")
    assert seen[0] == ("notification", seen[0][1]) and seen[0][1]["id"] == str(notification_id)
    assert seen[1] == ("unread_count", {"unread_count": 1})


# ---- across processes -------------------------------------------------------------------------


@pytest.fixture
def two_servers(
    settings: Settings, committed_database: Database, tmp_path: Path
) -> Iterator[tuple[Server, ...]]:
    """A runs the job worker (it handles the events), B only serves."""
    prefix = f"{settings.redis.prefix}{uuid.uuid4().hex[:8]}:"
    with running(settings, tmp_path, prefix, overrides=[{"KEEL_JOBS__EMBEDDED": "true"}]) as pair:
        yield pair


async def seed(database: Database, settings: Settings) -> tuple[Caller, Caller, uuid.UUID, str]:
    async with database.transaction() as session:
        admin = await make_caller(session, settings)
        invitee = await make_caller(session, settings)
        org = await make_org(session, admin.user)
    return admin, invitee, org.id, org.name


@requires_redis
async def test_stream__invited_through_process_a__streamed_by_process_b(
    two_servers: tuple[Server, ...], committed_database: Database, settings: Settings
) -> None:
    # Given two processes on one Redis, and an invitee with an account connected to B
    a, b = two_servers
    admin, invitee, org_id, org_name = await seed(committed_database, settings)
    async with httpx.AsyncClient(timeout=30) as http:
        stream_url = f"{b.url}/api/v1/me/notifications/stream"
        async with http.stream("GET", stream_url, headers=invitee.headers) as answer:
            chunks = answer.aiter_text()
            assert frames(await anext(chunks)) == [("unread_count", {"unread_count": 0})]
            # When the admin invites them through A (whose worker handles member.invited)
            invited = await http.post(
                f"{a.url}/api/v1/orgs/{org_id}/invitations",
                json={"email": invitee.user.email, "role": "member"},
                headers=admin.headers,
            )
            assert invited.status_code == 201, invited.text
            # Then B streams the notification A's worker created, and the new count
            seen = await read_until(chunks, "notification", within=30)
    event, data = seen[0]
    assert event == "notification" and data["kind"] == "member.invited"
    assert org_name in data["title"] and data["organization_id"] == str(org_id)
    assert seen[1] == ("unread_count", {"unread_count": 1})
