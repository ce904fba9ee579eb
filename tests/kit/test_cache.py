"""The cache contract, run against whichever backend the test environment names (Redis in
CI's second pass, in-process otherwise), plus the in-process store's TTL and LRU rules."""

from __future__ import annotations

import asyncio

from keel.kit.cache import Cache, MemoryCache


async def test_cache__set_get_delete__round_trip(cache: Cache) -> None:
    await cache.set("k", {"plan": "pro", "n": [1, 2]})
    assert await cache.get("k") == {"plan": "pro", "n": [1, 2]}
    await cache.delete("k")
    assert await cache.get("k") is None


async def test_cache__ttl__expires(cache: Cache) -> None:
    await cache.set("short", "v", ttl=0.05)
    await cache.set("long", "v", ttl=60)
    await asyncio.sleep(0.15)
    assert await cache.get("short") is None
    assert await cache.get("long") == "v"


async def test_cache__incr__counts_and_keeps_first_ttl(cache: Cache) -> None:
    assert await cache.incr("hits", ttl=0.2) == 1
    assert await cache.incr("hits", 4, ttl=10) == 5
    await asyncio.sleep(0.3)
    assert await cache.get("hits") is None


async def test_cache__ping__answers(cache: Cache) -> None:
    await cache.ping()


async def test_memory_cache__full__evicts_least_recently_used() -> None:
    cache = MemoryCache(maxsize=2)
    await cache.set("a", 1)
    await cache.set("b", 2)
    await cache.get("a")
    await cache.set("c", 3)
    assert (await cache.get("a"), await cache.get("b"), await cache.get("c")) == (1, None, 3)
