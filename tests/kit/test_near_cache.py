"""The near cache: tag invalidation, the read/write race, budget and TTL, serving only while
subscribed to a shared broadcast, and invalidation by database commits (and only by them)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from keel.kit import near_cache
from keel.kit.broadcast import Broadcast, MemoryBroadcast, RedisBroadcast
from keel.kit.db import Database
from keel.kit.near_cache import NearCache
from keel.users.models import User
from keel.users.service import user_tag
from tests.conftest import TEST_REDIS_URL, requires_redis
from tests.helpers.tenancy import make_user


class Loader:
    """A loader that counts its calls and answers ``value``."""

    def __init__(self, value: Any) -> None:
        self.value = value
        self.calls = 0

    async def __call__(self) -> Any:
        self.calls += 1
        return self.value


async def eventually(check: Callable[[], bool], *, within: float = 1.0) -> None:
    """Wait until ``check()`` holds; fail after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"not true within {within}s")
        await asyncio.sleep(0.01)


def serves(near: NearCache) -> bool:
    """Whether ``near`` keeps what it is given right now (a probe entry with no tags)."""
    near.put("probe", True, (), near.mark(()))
    return near.get("probe") is True


@asynccontextmanager
async def listening(*caches: NearCache) -> AsyncIterator[None]:
    """Each cache's ``listen()`` running, as the lifespan runs it, until the block ends."""
    tasks = [asyncio.create_task(near.listen()) for near in caches]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def cached(near: NearCache, key: str, value: Any, *tags: str) -> None:
    near.put(key, value, tags, near.mark(tags))
    assert near.get(key) == value


# ---- reading and invalidating in one process --------------------------------------------------


async def test_get_or_load__second_call__served_without_loading() -> None:
    # Given an empty near cache and a loader
    near, load = NearCache(), Loader({"plan": "pro"})
    # When the same key is asked for twice
    first = await near.get_or_load("k", ("org:1",), load)
    second = await near.get_or_load("k", ("org:1",), load)
    # Then the loader ran once; the second answer is the cached one, counted as a hit
    assert first == second == {"plan": "pro"}
    assert load.calls == 1
    assert (near.hits, near.misses) == (1, 1)


async def test_get_or_load__loader_returns_none__never_cached() -> None:
    # Given a loader that finds nothing
    near, load = NearCache(), Loader(None)
    # When the key is asked for twice
    results = [await near.get_or_load("absent", ("org:1",), load) for _ in range(2)]
    # Then both times the loader was asked (an absent row may appear unwatched)
    assert results == [None, None]
    assert load.calls == 2
    assert near.get("absent") is None
    assert (near.hits, near.misses) == (0, 2)


async def test_get_or_load__falsy_value__cached_like_any_other() -> None:
    # Given a loader answering an empty list (not None)
    near, load = NearCache(), Loader([])
    # When asked twice, Then the empty list came from the cache the second time
    assert await near.get_or_load("empty", ("t",), load) == []
    assert await near.get_or_load("empty", ("t",), load) == []
    assert load.calls == 1


async def test_drop__one_tag_of_an_entry__that_entry_misses_others_survive() -> None:
    # Given three entries: two depend on user:1, one on user:2 only
    near = NearCache()
    cached(near, "standing", "s", "org:1", "user:1")
    cached(near, "session", "live", "user:1")
    cached(near, "other", "o", "org:1", "user:2")
    # When user:1 is invalidated
    near.drop(["user:1"])
    # Then both entries that depend on it miss, the other is still served
    assert near.get("standing") is None
    assert near.get("session") is None
    assert near.get("other") == "o"


async def test_invalidate__without_broadcast__drops_locally_and_reloads() -> None:
    # Given an entry loaded once
    near, load = NearCache(), Loader("v1")
    await near.get_or_load("k", ("org:1", "member:1:2"), load)
    # When one of its tags is invalidated and the source changed meanwhile
    await near.invalidate(["member:1:2"])
    load.value = "v2"
    # Then the next read loads the new value, and caches that one
    assert await near.get_or_load("k", ("org:1", "member:1:2"), load) == "v2"
    assert await near.get_or_load("k", ("org:1", "member:1:2"), load) == "v2"
    assert load.calls == 2


async def test_invalidate__no_tags__nothing_dropped() -> None:
    near = NearCache()
    cached(near, "k", "v", "t")
    await near.invalidate([])
    assert near.get("k") == "v"


async def test_clear__drops_every_entry() -> None:
    near = NearCache()
    cached(near, "a", 1, "t1")
    cached(near, "b", 2)
    near.clear()
    assert (near.get("a"), near.get("b")) == (None, None)


# ---- the race: a value read before a write must not be stored after it ------------------------


async def test_put__tag_dropped_between_mark_and_put__not_stored() -> None:
    # Given a reader that took the tag versions before reading its source
    near = NearCache()
    seen = near.mark(("org:1", "user:1"))
    # When a write invalidates one of the tags before the reader stores what it read
    near.drop(["user:1"])
    near.put("standing", "stale", ("org:1", "user:1"), seen)
    # Then the stale value is not stored; a fresh mark stores
    assert near.get("standing") is None
    near.put("standing", "fresh", ("org:1", "user:1"), near.mark(("org:1", "user:1")))
    assert near.get("standing") == "fresh"


async def test_put__unrelated_tag_dropped_between_mark_and_put__stored() -> None:
    near = NearCache()
    seen = near.mark(("org:1",))
    near.drop(["org:2"])
    near.put("k", "v", ("org:1",), seen)
    assert near.get("k") == "v"


async def test_put__cleared_between_mark_and_put__not_stored() -> None:
    # Given a reader's mark, When everything is cleared before it stores
    near = NearCache()
    seen = near.mark(("org:1",))
    near.clear()
    near.put("k", "stale", ("org:1",), seen)
    # Then nothing is stored (a clear forgets versions, so it must not accept old marks)
    assert near.get("k") is None


async def test_get_or_load__tag_dropped_while_loading__returned_not_cached() -> None:
    # Given a loader during which a write invalidates the entry's tag
    near = NearCache()
    calls = 0

    async def load() -> str:
        nonlocal calls
        calls += 1
        near.drop(["document:1"])
        return f"read-{calls}"

    # When the key is read twice
    first = await near.get_or_load("doc", ("document:1",), load)
    second = await near.get_or_load("doc", ("document:1",), load)
    # Then each caller got what it read, and neither value was kept
    assert (first, second) == ("read-1", "read-2")
    assert near.get("doc") is None


# ---- size budget and TTL ----------------------------------------------------------------------


async def test_put__larger_than_the_budget__not_stored() -> None:
    near = NearCache(budget=1_000)
    near.put("huge", "x", (), near.mark(()), size=1_001)
    near.put("fits", "y", (), near.mark(()), size=1_000)
    assert near.get("huge") is None
    assert near.get("fits") == "y"


async def test_get_or_load__size_over_budget__loaded_each_time() -> None:
    near, load = NearCache(budget=1_000), Loader("big")
    for _ in range(2):
        assert await near.get_or_load("k", (), load, size=lambda _value: 5_000) == "big"
    assert load.calls == 2


async def test_put__beyond_the_budget__oldest_entries_evicted() -> None:
    # Given a budget of three 300-byte entries
    near = NearCache(budget=1_000)
    # When five are stored
    for n in range(5):
        near.put(f"k{n}", n, (), near.mark(()), size=300)
    # Then the two oldest made room for the three newest
    assert [near.get(f"k{n}") for n in range(5)] == [None, None, 2, 3, 4]


async def test_get__after_ttl__expired() -> None:
    # Given a cache whose entries live 50 ms
    near, load = NearCache(ttl=0.05), Loader("v")
    await near.get_or_load("k", ("t",), load)
    assert near.get("k") == "v"
    # When more than the TTL passes
    await asyncio.sleep(0.12)
    # Then the entry is gone and the next read loads again
    assert near.get("k") is None
    await near.get_or_load("k", ("t",), load)
    assert load.calls == 2


# ---- across processes ---------------------------------------------------------------------------


async def test_connect_not_shared__serves_at_once_and_listen_returns() -> None:
    # Given a cache connected to a broadcast nobody else uses
    near = NearCache()
    near.connect(MemoryBroadcast(), shared=False)
    # Then it serves without listening, and listen() has nothing to do
    assert serves(near)
    await asyncio.wait_for(near.listen(), 1)


async def test_connect_shared__before_listen__nothing_served() -> None:
    # Given a cache connected to a shared broadcast, not yet listening
    near, load = NearCache(), Loader("v")
    near.connect(MemoryBroadcast(), shared=True)
    # When a key is read twice
    await near.get_or_load("k", ("t",), load)
    await near.get_or_load("k", ("t",), load)
    # Then nothing was kept: a process not subscribed would miss others' invalidations
    assert load.calls == 2
    assert not serves(near)


async def test_listen__shared_and_subscribed__serves() -> None:
    near, load = NearCache(), Loader("v")
    near.connect(MemoryBroadcast(), shared=True)
    async with listening(near):
        await eventually(lambda: serves(near))
        await near.get_or_load("k", ("t",), load)
        await near.get_or_load("k", ("t",), load)
    assert load.calls == 1


async def test_invalidate__shared_broadcast__reaches_the_other_process(
    broadcast: Broadcast,
) -> None:
    # Given two processes' caches on one broadcast (Redis in the Redis pass), both listening,
    # each holding an entry tagged user:1 and one tagged user:2
    a, b = NearCache(), NearCache()
    for near in (a, b):
        near.connect(broadcast, shared=True)
    async with listening(a, b):
        await eventually(lambda: serves(a) and serves(b), within=5)
        for near in (a, b):
            cached(near, "session", "live", "user:1")
            cached(near, "other", "o", "user:2")
        # When A invalidates user:1
        await a.invalidate(["user:1"])
        # Then A dropped it at once, and B within a second; user:2's entries survive
        assert a.get("session") is None
        await eventually(lambda: b.get("session") is None)
        assert (a.get("other"), b.get("other")) == ("o", "o")


class BreakableBroadcast:
    """A broadcast whose subscriptions can be cut, as a Redis connection can drop."""

    def __init__(self) -> None:
        self.inner = MemoryBroadcast()
        self.subscriptions = 0
        self._cut = asyncio.Event()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        await self.inner.publish(channel, message)

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]:
        return self._subscribe(channel)

    @asynccontextmanager
    async def _subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        async with self.inner.subscribe(channel) as messages:
            self.subscriptions += 1
            self._cut.clear()
            yield self._until_cut(messages)

    async def _until_cut(
        self, messages: AsyncIterator[dict[str, Any]]
    ) -> AsyncIterator[dict[str, Any]]:
        while True:
            cut = asyncio.ensure_future(self._cut.wait())
            message = asyncio.ensure_future(anext(messages))
            try:
                done, _ = await asyncio.wait({cut, message}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                cut.cancel()
                if not message.done():
                    message.cancel()
            if cut in done:
                raise ConnectionError("subscription lost")
            yield message.result()

    def cut(self) -> None:
        self._cut.set()

    async def close(self) -> None:
        await self.inner.close()


async def test_listen__subscription_lost__stops_serving_then_clears_on_resubscribe() -> None:
    # Given a listening cache holding an entry
    broadcast = BreakableBroadcast()
    near = NearCache()
    near.connect(broadcast, shared=True)
    async with listening(near):
        await eventually(lambda: serves(near))
        cached(near, "k", "v", "user:1")
        # When its subscription is lost (messages sent meanwhile are lost too)
        broadcast.cut()
        # Then it stops serving at once, even the entry it held
        await eventually(lambda: near.get("k") is None)
        assert not serves(near)
        # And once subscribed again it serves, but the old entry is gone for good
        await eventually(lambda: broadcast.subscriptions == 2, within=5)
        await eventually(lambda: serves(near))
        assert near.get("k") is None


# ---- invalidation by database writes ------------------------------------------------------------


async def test_of__database_session__its_near_cache_bare_session__none(
    database: Database, engine: AsyncEngine
) -> None:
    async with database.sessionmaker() as session:
        assert near_cache.of(session) is database.near
    async with AsyncSession(engine) as bare:
        assert near_cache.of(bare) is None


async def test_table_tag__names_the_table() -> None:
    assert near_cache.table_tag(User) == "table:users"


async def test_flush__test_mode_session__drops_the_row_tags_at_once(
    database: Database, db: AsyncSession
) -> None:
    # Given (test mode: flushes are visible to every session) an entry derived from a user
    user = await make_user(db)
    near = database.near
    cached(near, "standing", "s", user_tag(user.id))
    cached(near, "unrelated", "u", user_tag(uuid.uuid4()))
    # When the user row is changed and flushed
    user.name = "Renamed"
    await db.flush()
    # Then the entry is dropped without waiting for a commit; others survive
    assert near.get("standing") is None
    assert near.get("unrelated") == "u"


async def test_bulk_update__test_mode_session__drops_the_table_tag(
    database: Database, db: AsyncSession
) -> None:
    user = await make_user(db)
    near = database.near
    cached(near, "standing", "s", user_tag(user.id), near_cache.table_tag(User))
    await db.execute(update(User).where(User.id == user.id).values(name="Bulk"))
    assert near.get("standing") is None


async def test_commit__watched_row_changed__dropped(committed_database: Database) -> None:
    # Given a committed user and entries derived from it and from another user
    database = committed_database
    async with database.transaction() as session:
        user = await make_user(session)
    near = database.near
    cached(near, "standing", "s", user_tag(user.id))
    cached(near, "unrelated", "u", user_tag(uuid.uuid4()))
    # When a transaction changes the user and commits
    async with database.transaction() as session:
        row = await session.get(User, user.id)
        assert row is not None
        row.name = "Renamed"
    # Then the entry derived from it is dropped, the other one is not
    assert near.get("standing") is None
    assert near.get("unrelated") == "u"


async def test_commit__watched_row_inserted_and_deleted__dropped(
    committed_database: Database,
) -> None:
    database, near = committed_database, committed_database.near
    user_id = uuid.uuid4()
    cached(near, "standing", "s", user_tag(user_id))
    async with database.transaction() as session:
        await make_user(session, id=user_id)
    assert near.get("standing") is None
    cached(near, "standing", "s", user_tag(user_id))
    async with database.transaction() as session:
        row = await session.get(User, user_id)
        await session.delete(row)
    assert near.get("standing") is None


class Abort(Exception):
    pass


async def test_rollback__watched_row_changed__nothing_dropped(
    committed_database: Database,
) -> None:
    # Given a committed user and an entry derived from it
    database = committed_database
    async with database.transaction() as session:
        user = await make_user(session)
    near = database.near
    cached(near, "standing", "s", user_tag(user.id), near_cache.table_tag(User))
    # When a transaction changes the user, flushes, then fails
    with pytest.raises(Abort):
        async with database.transaction() as session:
            row = await session.get(User, user.id)
            assert row is not None
            row.name = "Never"
            await session.flush()
            await session.execute(update(User).where(User.id == user.id).values(name="Never"))
            raise Abort
    # Then the entry is still served, and a later unrelated commit does not drop it either
    assert near.get("standing") == "s"
    async with database.transaction() as session:
        await make_user(session)
    assert near.get("standing") == "s"


async def test_commit__bulk_update__drops_the_table_tag(committed_database: Database) -> None:
    # Given a committed user and an entry carrying the users table tag
    database = committed_database
    async with database.transaction() as session:
        user = await make_user(session)
    near = database.near
    cached(near, "standing", "s", user_tag(uuid.uuid4()), near_cache.table_tag(User))
    # When a bulk UPDATE on the table commits (no ORM row is loaded)
    async with database.transaction() as session:
        await session.execute(update(User).where(User.id == user.id).values(name="Bulk"))
        assert near.get("standing") == "s"
    # Then every entry tagged with the table is dropped
    assert near.get("standing") is None


async def test_commit__shared_broadcast__other_process_drops_within_a_second(
    committed_database: Database, broadcast: Broadcast
) -> None:
    # Given this process's database cache and another process's cache on one broadcast
    database, other = committed_database, NearCache()
    async with database.transaction() as session:
        user = await make_user(session)
    for near in (database.near, other):
        near.connect(broadcast, shared=True)
    try:
        async with listening(database.near, other):
            await eventually(lambda: serves(database.near) and serves(other), within=5)
            cached(other, "standing", "s", user_tag(user.id))
            # When this process commits a change to the user
            async with database.transaction() as session:
                row = await session.get(User, user.id)
                assert row is not None
                row.name = "Renamed"
            # Then the other process drops its entry within a second
            await eventually(lambda: other.get("standing") is None)
    finally:
        # the fixture's cleanup commits must not publish on a broadcast closed before it
        await database.near.close()
        database.near.connect(MemoryBroadcast(), shared=False)


@requires_redis
async def test_invalidate__two_redis_clients__applied_by_the_other_within_a_second() -> None:
    # Given two processes' caches, each on its own Redis connection and broadcast
    assert TEST_REDIS_URL is not None
    prefix = f"keel:test:{uuid.uuid4().hex[:8]}:"
    clients = [Redis.from_url(TEST_REDIS_URL), Redis.from_url(TEST_REDIS_URL)]
    a, b = NearCache(), NearCache()
    try:
        for near, client in zip((a, b), clients, strict=True):
            near.connect(RedisBroadcast(client, prefix=prefix), shared=True)
        async with listening(a, b):
            await eventually(lambda: serves(a) and serves(b), within=5)
            cached(b, "standing", "s", "org:1", "user:1")
            cached(b, "other", "o", "org:2")
            # When A invalidates org:1
            await a.invalidate(["org:1"])
            # Then B applies it within a second, and only it
            await eventually(lambda: b.get("standing") is None)
            assert b.get("other") == "o"
    finally:
        for client in clients:
            await client.aclose()
