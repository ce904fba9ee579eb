"""FastAPI dependencies for the plumbing every endpoint may need.

``DbSession`` is the request's one transaction (GUIDE §3.1). Its scope is ``"function"`` so
the commit happens after the endpoint returns and *before* the response is sent: a failed
commit becomes an error answer, never a 2xx for a change that was lost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import httpx
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.kit import outbound, ratelimit
from keel.kit.broadcast import Broadcast
from keel.kit.cache import Cache
from keel.kit.db import Database
from keel.kit.errors import AppError


@dataclass(init=False)
class Resources:
    """What a process holds open: built by ``create_app`` or the worker, closed at shutdown."""

    settings: Settings
    database: Database
    cache: Cache
    broadcast: Broadcast
    limiter: ratelimit.Limiter

    def __init__(
        self,
        settings: Settings,
        database: Database,
        cache: Cache,
        broadcast: Broadcast,
        limiter: ratelimit.Limiter | None = None,
    ) -> None:
        """Without ``limiter``, the one that goes with ``cache`` (Redis or in-process)."""
        self.settings = settings
        self.database = database
        self.cache = cache
        self.broadcast = broadcast
        self.limiter = ratelimit.limiter_for(cache, settings) if limiter is None else limiter
        self._outbound: httpx.AsyncClient | None = None
        database.use_broadcast(broadcast)

    @property
    def outbound(self) -> httpx.AsyncClient:
        """The SSRF-guarded client for user-supplied URLs (:mod:`keel.kit.outbound`): one
        keep-alive pool per process, made on first use, closed by :func:`close_resources`."""
        if self._outbound is None:
            webhooks = self.settings.webhooks
            self._outbound = outbound.guarded_client(
                outbound.OutboundOptions(
                    allow_loopback=webhooks.allow_loopback,
                    timeout_seconds=webhooks.timeout_seconds,
                )
            )
        return self._outbound

    async def close_outbound(self) -> None:
        if self._outbound is not None:
            await self._outbound.aclose()
            self._outbound = None


def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Commit when the endpoint returns; roll back when it raises, unless the error is one
    whose changes must be kept (``AppError.keeps_changes``)."""
    database = get_resources(request).database
    factory = (
        database.read_sessionmaker if request.method in SAFE_METHODS else database.sessionmaker
    )
    async with factory() as session:
        await session.begin()
        try:
            yield session
        except AppError as exc:
            await (session.commit() if exc.keeps_changes else session.rollback())
            raise
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


async def _resources_dep(request: Request) -> Resources:
    """Async, like every dependency that does no I/O: a plain ``def`` would run in the thread
    pool, one thread hop per request."""
    return get_resources(request)


async def get_settings_dep(request: Request) -> Settings:
    return get_resources(request).settings


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]
AppResources = Annotated[Resources, Depends(_resources_dep)]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]


#: Redis connections one process opens at most; requests beyond it queue for one.
REDIS_MAX_CONNECTIONS = 64


def open_resources(settings: Settings, *, database: Database | None = None) -> Resources:
    """Connect lazily to what the settings name; nothing here does I/O yet."""
    from redis.asyncio import BlockingConnectionPool, Redis

    from keel.kit.broadcast import MemoryBroadcast, RedisBroadcast
    from keel.kit.cache import MemoryCache, RedisCache
    from keel.kit.db import create_engine
    from keel.kit.near_cache import NearCache

    near = NearCache(
        budget=settings.cache.near_budget_mb * 1024 * 1024, ttl=settings.cache.near_ttl_seconds
    )
    db = database or Database(create_engine(settings), near=near)
    if settings.redis.url is None:
        broadcast = MemoryBroadcast()
        db.near.connect(broadcast, shared=False)
        memory = MemoryCache()
        return Resources(settings, db, memory, broadcast, ratelimit.limiter_for(memory, settings))
    # A bounded pool that makes a burst wait (up to the Redis timeout) for a free connection:
    # redis-py's default pool raises MaxConnectionsError at once when its limit is reached,
    # which turned a 1,000-connection burst into 500s (bench/read_path.py).
    pool = BlockingConnectionPool.from_url(
        settings.redis.url,
        max_connections=REDIS_MAX_CONNECTIONS,
        timeout=settings.redis.timeout,
        socket_timeout=settings.redis.timeout,
        socket_connect_timeout=settings.redis.timeout,
        health_check_interval=30,
    )
    client = Redis.from_pool(pool)
    prefix = settings.redis.prefix
    shared = RedisBroadcast(client, prefix=prefix)
    db.near.connect(shared, shared=True)
    cache = RedisCache(client, prefix=prefix)
    # The limiter shares the cache's client: one EVALSHA per decision on the same pool.
    return Resources(settings, db, cache, shared, ratelimit.limiter_for(cache, settings))


async def close_resources(resources: Resources, *, dispose_database: bool = True) -> None:
    await resources.close_outbound()
    await resources.broadcast.close()
    await resources.cache.close()
    if dispose_database:
        await resources.database.dispose()
