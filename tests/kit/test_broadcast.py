"""Broadcast: every subscriber gets every message; with Redis, across separate clients
(standing in for separate processes)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from redis.asyncio import Redis

from keel.kit.broadcast import Broadcast, RedisBroadcast
from tests.conftest import TEST_REDIS_URL, requires_redis


async def collect(
    broadcast: Broadcast, channel: str, count: int, ready: asyncio.Event
) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    async with broadcast.subscribe(channel) as messages:
        ready.set()
        async for message in messages:
            received.append(message)
            if len(received) == count:
                return received
    return received


async def test_broadcast__two_subscribers__both_receive_in_order(broadcast: Broadcast) -> None:
    ready = [asyncio.Event(), asyncio.Event()]
    tasks = [asyncio.create_task(collect(broadcast, "cache", 2, r)) for r in ready]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), 5)
    await broadcast.publish("cache", {"invalidate": "plan:1"})
    await broadcast.publish("cache", {"invalidate": "plan:2"})
    results = await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert results == [[{"invalidate": "plan:1"}, {"invalidate": "plan:2"}]] * 2


async def test_broadcast__other_channel__not_received(broadcast: Broadcast) -> None:
    ready = asyncio.Event()
    task = asyncio.create_task(collect(broadcast, "a", 1, ready))
    await asyncio.wait_for(ready.wait(), 5)
    await broadcast.publish("b", {"x": 1})
    await broadcast.publish("a", {"x": 2})
    assert await asyncio.wait_for(task, 5) == [{"x": 2}]


@requires_redis
async def test_redis_broadcast__separate_connections__message_crosses() -> None:
    assert TEST_REDIS_URL is not None
    prefix = f"keel:test:{uuid.uuid4().hex[:8]}:"
    sender_client, receiver_client = Redis.from_url(TEST_REDIS_URL), Redis.from_url(TEST_REDIS_URL)
    sender = RedisBroadcast(sender_client, prefix=prefix)
    receiver = RedisBroadcast(receiver_client, prefix=prefix)
    try:
        ready = asyncio.Event()
        task = asyncio.create_task(collect(receiver, "flags", 1, ready))
        await asyncio.wait_for(ready.wait(), 5)
        await sender.publish("flags", {"flag": "beta", "enabled": True})
        assert await asyncio.wait_for(task, 5) == [{"flag": "beta", "enabled": True}]
    finally:
        await sender_client.aclose()
        await receiver_client.aclose()
