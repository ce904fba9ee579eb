"""The near cache: per-process copies of hot, rarely-changing rows (a session's state, a
member's standing in an organization), dropped everywhere the moment their source changes.

Why not only the shared cache: a Redis round trip costs an authenticated read about as much
CPU as the rest of it, and the same few rows are read on every request.

How it stays right (ADR 0012):

* **Tags, not keys, are invalidated.** Every entry names the tags it depends on
  (``"user:<id>"``, ``"org:<id>"``, ...). Invalidating a tag bumps its version; an entry stored
  under an older version is never served again. That is O(1) per invalidation, and it also
  closes the classic race: a value read from the database *before* a write committed carries
  the versions seen before the read (:meth:`NearCache.mark`), so storing it afterwards is
  harmless.
* **Writes invalidate themselves.** Domains declare which models feed which tags
  (:func:`watch`); a flush of such a row (insert, update, delete, or a bulk statement on its
  table) queues the tags on the session, and only a successful commit applies them: locally
  at once, and to every other process through the broadcast channel. A rolled-back change
  invalidates nothing.
* **No subscription, no serving.** With a shared broadcast (Redis), entries are served only
  while this process is subscribed; on every (re)subscription everything is dropped, since
  messages sent meanwhile are lost. Entries also expire after ``ttl`` seconds regardless.

Without Redis the cache is exact for one process, which is what embedded mode runs; several
server processes need Redis (as the shared cache already does).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from cachetools import TTLCache
from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

from keel.kit.broadcast import Broadcast

log = structlog.get_logger(__name__)

CHANNEL = "near-cache"
#: The session ``info`` key that points a session at its database's near cache.
INFO_KEY = "keel.near_cache"
_PENDING_KEY = "keel.near_cache.pending"
#: Tag versions kept before everything is dropped and counting starts again.
MAX_VERSIONS = 100_000
RESUBSCRIBE_SECONDS = 1.0

T = TypeVar("T")
Seen = tuple[int, tuple[int, ...]]


#: What one process may hold, in (roughly) bytes: entries weigh what their ``size`` says.
BUDGET_BYTES = 64 * 1024 * 1024
#: The weight of an entry stored without one.
DEFAULT_SIZE = 512


@dataclass(slots=True)
class _Entry:
    value: Any
    tags: tuple[str, ...]
    seen: Seen
    size: int
    #: The cache's invalidation count when ``seen`` was last found current: while nothing at
    #: all was invalidated since, the entry is valid without looking at its tags.
    checked: int


class NearCache:
    def __init__(self, *, budget: int = BUDGET_BYTES, ttl: float = 60.0) -> None:
        self._entries: TTLCache[Hashable, _Entry] = TTLCache(
            maxsize=budget, ttl=ttl, timer=time.monotonic, getsizeof=lambda entry: entry.size
        )
        self._versions: dict[str, int] = {}
        self._epoch = 0
        #: Invalidations so far, of any tag (the fast path of :meth:`get`).
        self._invalidations = 0
        self._serving = True
        self._shared = False
        self._broadcast: Broadcast | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.hits = 0
        self.misses = 0

    # ---- reading ----------------------------------------------------------------------------

    def mark(self, tags: tuple[str, ...]) -> Seen:
        """The versions of ``tags`` now: take it *before* reading the source."""
        versions = self._versions
        return self._epoch, tuple(versions.get(tag, 0) for tag in tags)

    def get(self, key: Hashable) -> Any | None:
        if not self._serving:
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.checked != self._invalidations:
            if entry.seen != self.mark(entry.tags):
                return None
            entry.checked = self._invalidations
        return entry.value

    def put(
        self,
        key: Hashable,
        value: Any,
        tags: tuple[str, ...],
        seen: Seen,
        *,
        size: int = DEFAULT_SIZE,
    ) -> None:
        """Store unless a tag changed since ``seen`` (or the value outweighs the budget)."""
        if self._serving and seen == self.mark(tags) and size <= self._entries.maxsize:
            self._entries[key] = _Entry(value, tags, seen, size, self._invalidations)

    async def get_or_load(
        self,
        key: Hashable,
        tags: tuple[str, ...],
        load: Callable[[], Awaitable[T]],
        *,
        size: Callable[[T], int] | None = None,
    ) -> T:
        """The cached value, or ``load()``'s, cached unless one of ``tags`` changed meanwhile.
        ``None`` is never cached: an absent row may appear without anything to watch."""
        cached = self.get(key)
        if cached is not None:
            self.hits += 1
            return cached  # type: ignore[no-any-return]  # stored by this same call
        self.misses += 1
        seen = self.mark(tags)
        value = await load()
        if value is not None:
            self.put(key, value, tags, seen, size=DEFAULT_SIZE if size is None else size(value))
        return value

    # ---- invalidating -----------------------------------------------------------------------

    def drop(self, tags: Iterable[str]) -> None:
        """Invalidate ``tags`` in this process only."""
        versions = self._versions
        for tag in tags:
            versions[tag] = versions.get(tag, 0) + 1
        self._invalidations += 1
        if len(versions) > MAX_VERSIONS:
            self.clear()

    def clear(self) -> None:
        self._entries.clear()
        self._versions.clear()
        self._epoch += 1
        self._invalidations += 1

    async def invalidate(self, tags: Iterable[str]) -> None:
        """Invalidate ``tags`` here and in every process subscribed to the channel. For
        changes outside a database commit (the commit path calls this by itself)."""
        tags = sorted(set(tags))
        if not tags:
            return
        self.drop(tags)
        if self._broadcast is not None:
            await self._broadcast.publish(CHANNEL, {"tags": tags})

    def invalidate_committed(self, tags: set[str]) -> None:
        """From a synchronous commit hook: drop locally now, publish on the event loop."""
        self.drop(tags)
        if self._broadcast is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self._publish(sorted(tags)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, tags: list[str]) -> None:
        assert self._broadcast is not None
        try:
            await self._broadcast.publish(CHANNEL, {"tags": tags})
        except Exception:
            log.warning("near_cache.publish_failed", tags=tags, exc_info=True)

    # ---- across processes -------------------------------------------------------------------

    def connect(self, broadcast: Broadcast, *, shared: bool) -> None:
        """Send invalidations through ``broadcast``. ``shared``: other processes use it too,
        so serve nothing until :meth:`listen` is subscribed."""
        self._broadcast = broadcast
        self._serving = not shared
        self._shared = shared

    async def listen(self) -> None:
        """Apply other processes' invalidations until cancelled (a lifespan task). Alone in
        its process (no shared broadcast), there is nobody to listen to."""
        if self._broadcast is None or not self._shared:
            return
        while True:
            try:
                async with self._broadcast.subscribe(CHANNEL) as messages:
                    self.clear()
                    self._serving = True
                    async for message in messages:
                        self.drop(str(tag) for tag in message.get("tags", ()))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("near_cache.subscription_lost", exc_info=True)
            if self._shared:
                self._serving = False
                self.clear()
            await asyncio.sleep(RESUBSCRIBE_SECONDS)

    async def close(self) -> None:
        for task in list(self._tasks):
            with contextlib.suppress(Exception):
                await task


def of(session: AsyncSession | Session) -> NearCache | None:
    """The near cache of the database ``session`` belongs to (None for a bare session)."""
    near = session.info.get(INFO_KEY)
    return near if isinstance(near, NearCache) else None


def usable(session: AsyncSession | Session, tags: tuple[str, ...]) -> NearCache | None:
    """:func:`of`, unless the session has itself changed (flushed, not yet committed) a row
    behind one of ``tags``: it must see its own write, which the cache learns of only at
    commit."""
    near = of(session)
    pending = session.info.get(_PENDING_KEY)
    if near is None or (pending and not pending.isdisjoint(tags)):
        return None
    return near


async def read_through(
    session: AsyncSession,
    key: Hashable,
    tags: tuple[str, ...],
    load: Callable[[], Awaitable[T]],
    *,
    size: Callable[[T], int] | None = None,
) -> T:
    """``load()`` through the near cache when :func:`usable`, else straight from the source."""
    near = usable(session, tags)
    return await (load() if near is None else near.get_or_load(key, tags, load, size=size))


# ---- which rows feed which tags --------------------------------------------------------------

TagsOf = Callable[[Any], Iterable[str]]
_WATCHED: dict[type, TagsOf] = {}
_TABLE_TAGS: dict[str, str] = {}


def watch(model: type, tags_of: TagsOf) -> None:
    """Invalidate ``tags_of(row)`` whenever a ``model`` row is inserted, updated or deleted;
    a bulk INSERT/UPDATE/DELETE on its table invalidates :func:`table_tag` instead."""
    _WATCHED[model] = tags_of
    _TABLE_TAGS[_table_name(model)] = table_tag(model)


def table_tag(model: type) -> str:
    """The tag every entry built from ``model`` rows should carry, for bulk statements."""
    return f"table:{_table_name(model)}"


def _table_name(model: type) -> str:
    table: Any = inspect(model).local_table
    return str(table.name)


def _pending(session: Session) -> set[str]:
    pending: set[str] = session.info.setdefault(_PENDING_KEY, set())
    return pending


#: Session ``info`` flag: this session's flushes are visible to every other session at once
#: (tests run each unit of work in a SAVEPOINT of one shared transaction), so a flush, not a
#: commit, is when the cache must forget.
FLUSH_IS_VISIBLE_KEY = "keel.near_cache.flush_is_visible"


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    if INFO_KEY not in session.info or not _WATCHED:
        return
    for row in (*session.new, *session.dirty, *session.deleted):
        tags_of = _WATCHED.get(type(row))
        if tags_of is not None:
            _pending(session).update(tags_of(row))
    if session.info.get(FLUSH_IS_VISIBLE_KEY):
        _apply(session)


@event.listens_for(Session, "do_orm_execute")
def _collect_bulk(state: ORMExecuteState) -> None:
    if INFO_KEY not in state.session.info or not (
        state.is_update or state.is_delete or state.is_insert
    ):
        return
    table = getattr(state.statement, "table", None)
    tag = _TABLE_TAGS.get(getattr(table, "name", ""))
    if tag is not None:
        _pending(state.session).add(tag)
        if state.session.info.get(FLUSH_IS_VISIBLE_KEY):
            _apply(state.session)


@event.listens_for(Session, "after_commit")
def _apply(session: Session) -> None:
    tags = session.info.pop(_PENDING_KEY, None)
    near = session.info.get(INFO_KEY)
    if tags and near is not None:
        near.invalidate_committed(tags)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
