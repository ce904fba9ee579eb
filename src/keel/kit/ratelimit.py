"""Rate limiting: fixed windows aligned to the clock, decided by a :class:`Limiter`.

A *decision* counts ``cost`` units under a key in the current window of ``window_seconds`` and
allows the request while the count stays within the limit. Windows start at multiples of their
length (``floor(now / seconds)``), so every process sharing Redis counts into the same window
and the reset time it announces is exact: the counter expires when the window ends. Refused
requests count too (one atomic increment); that costs a hammering client nothing extra, since
the window resets at the announced time whatever the count. ``cost=0`` reads without counting.

* :class:`MemoryLimiter`: one process, exact, memory bounded to the live windows.
* :class:`RedisLimiter`: shared by every process, one ``EVALSHA`` round trip per decision.
* :class:`FailoverLimiter`: Redis, and what answers when it fails
  (``KEEL_RATELIMIT__ON_REDIS_FAILURE``: the in-process limiter, allow, or refuse with 503).
* :func:`enforce`: the HTTP side; 429 problem JSON on refusal, the CONTRACT's headers on
  every answer (:class:`~keel.kit.middleware.RequestContextMiddleware` adds them).

Why a fixed window rather than a sliding log, GCRA or a moving window: ADR 0014.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import structlog
from fastapi import Request
from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError
from starlette.types import Scope

from keel.config import Settings
from keel.kit import metrics
from keel.kit.cache import Cache, RedisCache
from keel.kit.errors import RateLimited, ServiceUnavailable

log = structlog.get_logger("kit.ratelimit")

FailureMode = Literal["fallback", "open", "closed"]
Clock = Callable[[], float]


def window_end(now: float, seconds: int) -> float:
    """When the window of ``seconds`` holding ``now`` ends: windows start at multiples of
    their length (Unix time), the same instants in every process."""
    return (now // seconds + 1) * seconds


@dataclass(frozen=True, slots=True)
class Decision:
    """One decision: ``used`` is the window's count after it. ``reset_at`` (Unix seconds) is
    when the window's counter resets, ``reset_after`` the whole seconds until then (>= 1).
    ``measured`` is false when no counter was consulted (fail-open): no headers then."""

    allowed: bool
    limit: int
    used: int
    window_seconds: int
    reset_at: int
    reset_after: int
    measured: bool = True

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def retry_after(self) -> int:
        """Seconds to wait once nothing is left (0 while budget remains)."""
        return self.reset_after if self.remaining == 0 else 0

    @property
    def headers(self) -> dict[str, str]:
        """CONTRACT "Rate limits": the X-RateLimit-* trio, the IETF draft pair, and
        Retry-After when nothing is left."""
        if not self.measured:
            return {}
        limit, remaining = self.limit, self.remaining
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(self.reset_at),
            "RateLimit-Policy": f"{limit};w={self.window_seconds}",
            "RateLimit": f"limit={limit}, remaining={remaining}, reset={self.reset_after}",
        }
        if remaining == 0:
            headers["Retry-After"] = str(self.reset_after)
        return headers


def decision(
    *, limit: int, used: int, window_seconds: int, expires_at: float, now: float
) -> Decision:
    """The decision for a count that resets at ``expires_at``: allowed while within
    ``limit``. ``reset_after`` rounds up, so a client waiting it out finds a fresh window."""
    return Decision(
        allowed=used <= limit,
        limit=limit,
        used=used,
        window_seconds=window_seconds,
        reset_at=round(expires_at),
        reset_after=max(1, math.ceil(expires_at - now)),
    )


class Limiter(Protocol):
    async def decide(self, key: str, *, limit: int, window_seconds: int, cost: int = 1) -> Decision:
        """Count ``cost`` units under ``key`` in the current window of ``window_seconds``
        (``cost=0`` reads the count). A key counts in one window at a time: two limits on
        one subject need two keys (``org:1:minute``, ``org:1:day``)."""
        ...


class _Counter:
    __slots__ = ("count", "expires_at")

    def __init__(self, expires_at: float) -> None:
        self.count = 0
        self.expires_at = expires_at


class MemoryLimiter:
    """Exact within one process: ``decide`` never awaits between reading and writing a
    counter, so concurrent tasks cannot interleave. A heap of window ends evicts each counter
    when its window is over, so memory holds live windows only, at most ``max_keys`` of them
    (past that the soonest to end is dropped early, forgetting its count)."""

    def __init__(self, *, max_keys: int = 100_000, clock: Clock = time.time) -> None:
        self.max_keys = max_keys
        self._clock = clock
        self._counters: dict[str, _Counter] = {}
        self._ends: list[tuple[float, str]] = []

    def __len__(self) -> int:
        return len(self._counters)

    async def decide(self, key: str, *, limit: int, window_seconds: int, cost: int = 1) -> Decision:
        now = self._clock()
        self._evict(now)
        counter = self._counters.get(key)
        if counter is None:
            if cost == 0:
                end = window_end(now, window_seconds)
                return decision(
                    limit=limit, used=0, window_seconds=window_seconds, expires_at=end, now=now
                )
            counter = self._add(key, window_end(now, window_seconds))
        counter.count += cost
        return decision(
            limit=limit,
            used=counter.count,
            window_seconds=window_seconds,
            expires_at=counter.expires_at,
            now=now,
        )

    def _evict(self, now: float) -> None:
        ends = self._ends
        while ends and ends[0][0] <= now:
            del self._counters[heapq.heappop(ends)[1]]

    def _add(self, key: str, expires_at: float) -> _Counter:
        if len(self._counters) >= self.max_keys:
            del self._counters[heapq.heappop(self._ends)[1]]
        counter = self._counters[key] = _Counter(expires_at)
        heapq.heappush(self._ends, (expires_at, key))
        return counter


# INCRBY, then PEXPIRE the first time (to the window's end), answering the count and the time
# left in one round trip. A read (cost 0) of a missing key creates nothing.
_SCRIPT = """
local used
if ARGV[1] == '0' then
  used = tonumber(redis.call('GET', KEYS[1]) or '0')
else
  used = redis.call('INCRBY', KEYS[1], ARGV[1])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  ttl = tonumber(ARGV[2])
  if used > 0 then
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
end
return {used, ttl}
"""
_SCRIPT_SHA = hashlib.sha1(_SCRIPT.encode(), usedforsecurity=False).hexdigest()


_Pending = tuple[str, int, int, "asyncio.Future[list[Any]]"]


class RedisLimiter:
    """Every process counts into one Redis key per limited key, so the limit is shared
    exactly. The key lives until the window's end as the first process to count computed it,
    and every process announces that same reset time (the key's TTL).

    Decisions asked for in the same turn of the event loop (concurrent requests) go to Redis
    together, as one pipeline of EVALSHAs: each stays atomic, so counting is as exact as one
    call each, but a burst costs one round trip and one pooled connection instead of one per
    request (measured in ``bench/ratelimit.py``)."""

    def __init__(self, client: Redis, *, prefix: str, clock: Clock = time.time) -> None:
        self.client = client
        self.prefix = prefix
        self._clock = clock
        self._batch: list[_Pending] = []
        self._sending: set[asyncio.Task[None]] = set()

    async def decide(self, key: str, *, limit: int, window_seconds: int, cost: int = 1) -> Decision:
        now = self._clock()
        until_end_ms = max(1, math.ceil((window_end(now, window_seconds) - now) * 1000))
        used, ttl_ms = await self._count(self.prefix + key, cost, until_end_ms)
        return decision(
            limit=limit,
            used=int(used),
            window_seconds=window_seconds,
            expires_at=now + int(ttl_ms) / 1000,
            now=now,
        )

    def _count(self, key: str, cost: int, until_end_ms: int) -> asyncio.Future[list[Any]]:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[list[Any]] = loop.create_future()
        self._batch.append((key, cost, until_end_ms, answer))
        if len(self._batch) == 1:  # the first of this turn sends them all in the next
            loop.call_soon(self._send_batch)
        return answer

    def _send_batch(self) -> None:
        batch, self._batch = self._batch, []
        task = asyncio.ensure_future(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[_Pending]) -> None:
        try:
            replies = await self._evalsha_all([(key, cost, ms) for key, cost, ms, _ in batch])
        except Exception as exc:  # the connection failed: every decision of the batch did
            replies = [exc] * len(batch)
        for (*_, answer), reply in zip(batch, replies, strict=True):
            if answer.done():  # its request was cancelled meanwhile
                continue
            if isinstance(reply, BaseException):
                answer.set_exception(reply)
            else:
                answer.set_result(reply)

    async def _evalsha_all(self, calls: list[tuple[str, int, int]]) -> list[Any]:
        """One pipeline; a server that lost its script cache (restart, SCRIPT FLUSH) gets
        the script loaded again and the calls retried, once."""
        replies = await self._pipeline(calls)
        if any(isinstance(reply, NoScriptError) for reply in replies):
            await self.client.script_load(_SCRIPT)
            replies = await self._pipeline(calls)
        return replies

    async def _pipeline(self, calls: list[tuple[str, int, int]]) -> list[Any]:
        if len(calls) == 1:
            key, cost, until_end_ms = calls[0]
            try:
                return [await self.client.evalsha(_SCRIPT_SHA, 1, key, cost, until_end_ms)]
            except NoScriptError as exc:
                return [exc]
        async with self.client.pipeline(transaction=False) as pipe:
            for key, cost, until_end_ms in calls:
                pipe.evalsha(_SCRIPT_SHA, 1, key, cost, until_end_ms)
            replies: list[Any] = await pipe.execute(raise_on_error=False)
        return replies


class FailoverLimiter:
    """``primary`` (Redis) until it fails; then ``mode`` answers: ``fallback`` asks the
    in-process limiter (each process then counts alone), ``open`` allows, ``closed`` refuses
    with 503. After a failure Redis is skipped for ``retry_seconds``, so an outage costs one
    timeout per interval rather than one per request, and logs one line per interval."""

    def __init__(
        self,
        primary: Limiter,
        fallback: Limiter,
        *,
        mode: FailureMode = "fallback",
        retry_seconds: float = 2.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.mode = mode
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._skip_until = 0.0
        self._failing = False

    async def decide(self, key: str, *, limit: int, window_seconds: int, cost: int = 1) -> Decision:
        if self._clock() >= self._skip_until:
            try:
                answer = await self.primary.decide(
                    key, limit=limit, window_seconds=window_seconds, cost=cost
                )
            except (RedisError, OSError) as exc:
                self._failed(exc)
            else:
                self._recovered()
                return answer
        return await self._instead(key, limit=limit, window_seconds=window_seconds, cost=cost)

    async def _instead(self, key: str, *, limit: int, window_seconds: int, cost: int) -> Decision:
        metrics.RATELIMIT_FALLBACKS.labels(mode=self.mode).inc()
        if self.mode == "closed":
            raise ServiceUnavailable(
                "Rate limiting needs Redis, which is not answering; retry in a few seconds."
            )
        if self.mode == "open":
            return Decision(
                allowed=True,
                limit=limit,
                used=0,
                window_seconds=window_seconds,
                reset_at=0,
                reset_after=window_seconds,
                measured=False,
            )
        return await self.fallback.decide(
            key, limit=limit, window_seconds=window_seconds, cost=cost
        )

    def _failed(self, exc: Exception) -> None:
        self._skip_until = self._clock() + self.retry_seconds
        self._failing = True
        log.warning(
            "ratelimit.redis_failed",
            error=f"{type(exc).__name__}: {exc}",
            mode=self.mode,
            retry_in_seconds=self.retry_seconds,
        )

    def _recovered(self) -> None:
        if self._failing:
            self._failing = False
            log.info("ratelimit.redis_recovered", mode=self.mode)


def limiter_for(cache: Cache, settings: Settings) -> Limiter:
    """The limiter that goes with ``cache``: Redis (with the configured failover to an
    in-process limiter) when the cache is Redis, else in-process only."""
    config = settings.ratelimit
    memory = MemoryLimiter(max_keys=config.memory_max_keys)
    if not isinstance(cache, RedisCache):
        return memory
    shared = RedisLimiter(cache.client, prefix=f"{cache.prefix}ratelimit:")
    return FailoverLimiter(
        shared, memory, mode=config.on_redis_failure, retry_seconds=config.redis_retry_seconds
    )


#: Where :func:`enforce` leaves the request's tightest decision for the middleware.
STATE_KEY = "rate_limit"


async def enforce(
    request: Request,
    limiter: Limiter,
    *,
    key: str,
    limit: int,
    window_seconds: int,
    cost: int = 1,
) -> Decision:
    """Count this request under ``key``; 429 ``rate_limited`` (headers, ``limit``, ``window``,
    ``retry_after``) when over ``limit``. An allowed decision's headers reach the response
    whatever the endpoint returns: the middleware adds those of the tightest decision made
    for the request (the fewest remaining), unless the response set its own."""
    result = await limiter.decide(key, limit=limit, window_seconds=window_seconds, cost=cost)
    if not result.allowed:
        raise RateLimited(
            f"Over the limit of {limit} requests per {window_seconds} s; "
            f"retry in {result.retry_after} s.",
            headers=result.headers,
            limit=limit,
            window=window_seconds,
            retry_after=result.retry_after,
        )
    shown: Decision | None = getattr(request.state, STATE_KEY, None)
    if result.measured and (shown is None or result.remaining < shown.remaining):
        setattr(request.state, STATE_KEY, result)
    return result


def response_headers(scope: Scope) -> dict[str, str]:
    """The headers of the decision :func:`enforce` left in the request's scope, if any."""
    state = scope.get("state")
    shown = state.get(STATE_KEY) if state else None
    return shown.headers if isinstance(shown, Decision) else {}
