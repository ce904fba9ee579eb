"""The cache: Redis when ``KEEL_REDIS__URL`` is set, else an in-process TTL + LRU store.

Values are JSON-serialisable Python objects. Keys are namespaced with the configured prefix
so several Keel deployments (or test runs) can share one Redis. Invalidation across processes
goes through :mod:`keel.kit.broadcast`.
"""

from __future__ import annotations

import json
import time
from typing import Any, Protocol

from cachetools import TLRUCache
from redis.asyncio import Redis


class Cache(Protocol):
    async def get(self, key: str) -> Any | None: ...
    async def set(self, key: str, value: Any, *, ttl: float | None = None) -> None: ...
    async def delete(self, *keys: str) -> None: ...
    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


_FOREVER = float("inf")


class MemoryCache:
    """Per-process cache: entries expire after their own TTL; the least recently used go
    first when ``maxsize`` is reached."""

    def __init__(self, *, maxsize: int = 10_000) -> None:
        self._entries: TLRUCache[str, tuple[float, Any]] = TLRUCache(
            maxsize=maxsize, ttu=lambda _k, value, _now: value[0], timer=time.monotonic
        )

    async def get(self, key: str) -> Any | None:
        entry = self._entries.get(key)
        return None if entry is None else entry[1]

    async def set(self, key: str, value: Any, *, ttl: float | None = None) -> None:
        self._entries[key] = (_expiry(ttl), value)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._entries.pop(key, None)

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        entry = self._entries.get(key)
        if entry is None:
            self._entries[key] = (_expiry(ttl), amount)
            return amount
        value = int(entry[1]) + amount
        self._entries[key] = (entry[0], value)
        return value

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()


def _expiry(ttl: float | None) -> float:
    return _FOREVER if ttl is None else time.monotonic() + ttl


class RedisCache:
    def __init__(self, client: Redis, *, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def _key(self, key: str) -> str:
        return self.prefix + key

    async def get(self, key: str) -> Any | None:
        raw = await self.client.get(self._key(key))
        return None if raw is None else json.loads(raw)

    async def set(self, key: str, value: Any, *, ttl: float | None = None) -> None:
        px = None if ttl is None else max(1, int(ttl * 1000))
        await self.client.set(self._key(key), json.dumps(value), px=px)

    async def delete(self, *keys: str) -> None:
        if keys:
            await self.client.delete(*(self._key(k) for k in keys))

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        full = self._key(key)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incrby(full, amount)
            if ttl is not None:
                pipe.pexpire(full, max(1, int(ttl * 1000)), nx=True)
            result = await pipe.execute()
        return int(result[0])

    async def ping(self) -> None:
        await self.client.ping()

    async def close(self) -> None:
        await self.client.aclose()
