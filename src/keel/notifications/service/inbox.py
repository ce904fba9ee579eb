"""The in-app inbox: :func:`notify` is the one way a notification is created; its owner
lists, counts and reads them, and watches them arrive live (:func:`stream`).

Live fan-out: a change to an inbox is announced on the user's broadcast channel only after
its transaction commits (:func:`keel.kit.broadcast.publish_after_commit`), so a rolled-back
notification is never shown. The broadcast is Redis pub/sub when Redis is configured (every
process hears it) and in-process otherwise. Announcements are best effort; the inbox itself
is the truth, and a client that reconnects reads its unread count again.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from keel.kit import clock
from keel.kit.broadcast import Broadcast, publish_after_commit
from keel.kit.db import Database
from keel.kit.repository import Window
from keel.kit.schemas import PageParams
from keel.notifications import repository, rules
from keel.notifications.errors import NotificationNotFound
from keel.notifications.models import Notification
from keel.notifications.repository import InboxRepository
from keel.notifications.schemas import NotificationPage, NotificationRead

#: What an announcement says happened to the inbox.
CREATED, READ = "created", "read"


async def notify(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    kind: str,
    title: str,
    body: str,
    link: str | None = None,
    organization_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> uuid.UUID | None:
    """Put a notification in ``user_id``'s inbox and announce it once committed. With a
    ``dedupe_key`` the user already has (an event handled twice), nothing is added and
    None is returned."""
    values = {
        "kind": kind,
        "title": title[:200],
        "body": body[:2000],
        "link": link,
        "organization_id": organization_id,
        "data": data or {},
        "dedupe_key": dedupe_key,
        "created_at": clock.now(),
    }
    notification_id = await InboxRepository(session, user_id).insert(values)
    if notification_id is not None:
        read = NotificationRead(id=notification_id, read_at=None, **_shown(values))
        _announce(session, user_id, CREATED, read.model_dump(mode="json"))
    return notification_id


async def page(
    session: AsyncSession, user_id: uuid.UUID, params: PageParams, *, unread_only: bool = False
) -> NotificationPage:
    inbox = InboxRepository(session, user_id)
    window: Window[Notification] = await inbox.page(params, unread_only=unread_only)
    return NotificationPage(
        items=[NotificationRead.model_validate(row) for row in window.items],
        next_cursor=window.next_cursor,
        unread_count=await inbox.unread_count(),
    )


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    return await InboxRepository(session, user_id).unread_count()


async def mark_read(session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID) -> None:
    """Idempotent. Another user's notification is not found (404), never forbidden."""
    if not await InboxRepository(session, user_id).mark_read(notification_id, now=clock.now()):
        raise NotificationNotFound("You have no notification with this id.")
    _announce(session, user_id, READ, {"ids": [str(notification_id)]})


async def mark_all_read(session: AsyncSession, user_id: uuid.UUID) -> int:
    marked = await InboxRepository(session, user_id).mark_all_read(now=clock.now())
    if marked:
        _announce(session, user_id, READ, {"all": True})
    return marked


async def purge(session: AsyncSession, *, retention_days: int) -> int:
    """Retention: every notification older than ``retention_days``, read or not."""
    return await repository.purge_older_than(session, clock.now() - timedelta(days=retention_days))


async def stream(
    database: Database, broadcast: Broadcast, user_id: uuid.UUID, *, heartbeat: float
) -> AsyncGenerator[str]:
    """The Server-Sent Events of one user's inbox: ``unread_count`` first, then for each
    change a ``notification`` (when one was created) and the new ``unread_count``; a
    comment every ``heartbeat`` idle seconds. Subscribed before the first count is read, so
    nothing committed after that count is missed."""
    async with broadcast.subscribe(rules.user_channel(user_id)) as messages:
        yield await _count_event(database, user_id)
        async for message in _with_heartbeats(messages, heartbeat):
            if message is None:
                yield rules.SSE_HEARTBEAT
                continue
            if message.get("type") == CREATED:
                shown = NotificationRead.model_validate(message["notification"])
                yield rules.sse("notification", shown.model_dump_json(), event_id=str(shown.id))
            yield await _count_event(database, user_id)


async def _with_heartbeats(
    messages: AsyncIterator[dict[str, Any]], every: float
) -> AsyncIterator[dict[str, Any] | None]:
    """``messages``, with None after each ``every`` seconds without one. The pending read is
    kept across timeouts: cancelling it would end the subscription's generator."""
    pending: asyncio.Task[dict[str, Any]] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(messages))
            done, _ = await asyncio.wait({pending}, timeout=every)
            if not done:
                yield None
                continue
            message, pending = pending.result(), None
            yield message
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending


async def _count_event(database: Database, user_id: uuid.UUID) -> str:
    async with database.read_sessionmaker() as session, session.begin():
        count = await unread_count(session, user_id)
    return rules.sse("unread_count", f'{{"unread_count": {count}}}')


def _announce(session: AsyncSession, user_id: uuid.UUID, kind: str, body: dict[str, Any]) -> None:
    message = {"type": kind, "notification" if kind == CREATED else "read": body}
    publish_after_commit(session, rules.user_channel(user_id), message)


def _shown(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k != "dedupe_key"}
