"""Cross-process broadcast: every subscriber of a channel, in every process, gets each message.

Used for cache invalidation and live notifications. Redis pub/sub when Redis is configured;
an in-process fan-out otherwise (enough for one embedded process). Delivery is best effort:
a subscriber that is not connected when a message is sent does not get it, so state that must
not be lost goes through the outbox instead.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import structlog
from redis.asyncio import Redis
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

log = structlog.get_logger(__name__)

#: The session ``info`` key naming the broadcast its commits announce through
#: (:meth:`keel.kit.db.Database.use_broadcast`).
SESSION_KEY = "keel.broadcast"
_PENDING_KEY = "keel.broadcast.pending"
_sending: set[asyncio.Task[None]] = set()


class Broadcast(Protocol):
    async def publish(self, channel: str, message: dict[str, Any]) -> None: ...
    def subscribe(self, channel: str) -> Subscription: ...  # async with ... as messages
    async def close(self) -> None: ...


Subscription = AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]


class MemoryBroadcast:
    def __init__(self) -> None:
        self._queues: defaultdict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        for queue in list(self._queues.get(channel, ())):
            queue.put_nowait(message)

    @asynccontextmanager
    async def _subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._queues[channel].add(queue)
        try:
            yield _drain(queue)
        finally:
            self._queues[channel].discard(queue)

    def subscribe(self, channel: str) -> Subscription:
        return self._subscribe(channel)

    async def close(self) -> None:
        self._queues.clear()


async def _drain(queue: asyncio.Queue[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    while True:
        yield await queue.get()


class RedisBroadcast:
    def __init__(self, client: Redis, *, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        await self.client.publish(self.prefix + channel, json.dumps(message))

    @asynccontextmanager
    async def _subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self.prefix + channel)
        try:
            yield _listen(pubsub)
        finally:
            await pubsub.unsubscribe()
            await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated

    def subscribe(self, channel: str) -> Subscription:
        return self._subscribe(channel)

    async def close(self) -> None:
        return None


async def _listen(pubsub: Any) -> AsyncIterator[dict[str, Any]]:
    async for raw in pubsub.listen():
        if raw.get("type") == "message":
            yield json.loads(raw["data"])


# ---- announcing committed changes -----------------------------------------------------------


def publish_after_commit(
    session: AsyncSession | Session, channel: str, message: dict[str, Any]
) -> None:
    """Send ``message`` once the session's transaction commits; a rollback drops it, so a
    subscriber never hears of a change that did not happen. A rolled-back savepoint drops
    every pending message of the transaction (a lost announcement, never a false one)."""
    session.info.setdefault(_PENDING_KEY, []).append((channel, message))


@event.listens_for(Session, "after_commit")
def _publish_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the transaction itself may still roll back
    pending = session.info.pop(_PENDING_KEY, None)
    broadcast = session.info.get(SESSION_KEY)
    if not pending or broadcast is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    task = loop.create_task(_send(broadcast, pending))
    _sending.add(task)
    task.add_done_callback(_sending.discard)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


async def _send(broadcast: Broadcast, pending: list[tuple[str, dict[str, Any]]]) -> None:
    for channel, message in pending:
        try:
            await broadcast.publish(channel, message)
        except Exception:
            log.warning("broadcast.publish_failed", channel=channel, exc_info=True)
