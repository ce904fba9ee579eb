"""Rate-limit decisions: Keel's limiters next to the ``limits`` library, on the same workload.

    uv run python -m bench.ratelimit [--decisions 200000] [--redis-decisions 20000]
                                     [--keys 1000] [--limit 50] [--concurrency 64]
                                     [--max-seconds 10] [--repeats 3] [--skip-redis]

The workload: ``--keys`` keys (1,000 organizations or addresses), a reproducible random
sequence of decisions over them, each key limited to ``--limit`` per 60 s window. Every
decision is awaited, for every library.

In memory, one decision at a time (there is no I/O to overlap):

- Keel ``MemoryLimiter.decide``, then the same with the CONTRACT's headers built (what
  ``enforce`` costs a request);
- ``limits``' ``MovingWindowRateLimiter`` over its async ``MemoryStorage``: ``hit`` alone,
  then ``hit`` + ``get_window_stats`` (the remaining count and reset time headers need);
- ``limits``' ``FixedWindowRateLimiter`` (Keel's algorithm) with ``hit``, for reference.

Against Redis (``KEEL_BENCH_REDIS_URL``, default ``redis://127.0.0.1:6379/11``; 127.0.0.1
only; keys under ``keel:bench:ratelimit:<run>:``, deleted at the end): Keel's ``RedisLimiter``
and the ``FailoverLimiter`` production wraps it in, next to ``limits``' async Redis moving
window (redis-py implementation), one at a time and ``--concurrency`` at once over one pool
of that many connections. Per decision it reports:

- round trips: requests the client wrote to the socket (a connection class that counts
  ``send_packed_command``; a pipeline or a script call is one), after a warm-up that opened
  the pool's connections and loaded the scripts;
- Redis commands: the server's ``INFO stats`` ``total_commands_processed`` delta, which also
  counts the commands a Lua script runs inside (other clients of the same server add to it).

Each case runs ``--repeats`` times, interleaved with the others so a busy moment of the
machine does not favour one, and the fastest run is printed; every Redis run counts into
fresh keys. Bounded: each run stops at its count or after ``--max-seconds``, whichever is
first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage
from limits.aio.storage import RedisStorage as LimitsRedisStorage
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import Connection

from keel.kit.ratelimit import Decision, FailoverLimiter, MemoryLimiter, RedisLimiter

WINDOW = 60
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
Decide = Callable[[str], Awaitable[bool]]


class CountingConnection(Connection):
    """Counts every request written to Redis: one per command, pipeline or script call."""

    sent = 0

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        CountingConnection.sent += 1
        await super().send_packed_command(command, check_health)


def workload(keys: int, decisions: int) -> list[str]:
    rng = random.Random(11)  # noqa: S311 - a reproducible load, not a secret
    names = [f"org-{n}" for n in range(keys)]
    return [rng.choice(names) for _ in range(decisions)]


async def run(
    decide: Decide, load: Sequence[str], concurrency: int, budget: float
) -> tuple[int, int, float]:
    """(decisions made, allowed, seconds): ``concurrency`` tasks share the load in order."""
    position, allowed = 0, 0
    deadline = time.perf_counter() + budget

    async def worker() -> None:
        nonlocal position, allowed
        while position < len(load) and time.perf_counter() < deadline:
            key = load[position]
            position += 1
            verdict = await decide(key)  # not `allowed += await ...`: that reads before awaiting
            allowed += verdict

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return position, allowed, time.perf_counter() - started


@dataclass
class Figures:
    """The best (fastest) of the repeats of one case; counts per decision are the same in
    every repeat."""

    label: str
    concurrency: int
    seconds_per_decision: float = float("inf")
    allowed: float = 0.0
    trips: float | None = None
    commands: float | None = None

    def keep(self, made: int, allowed: int, seconds: float) -> None:
        if seconds / made < self.seconds_per_decision:
            self.seconds_per_decision, self.allowed = seconds / made, allowed / made

    def print(self) -> None:
        per = self.seconds_per_decision
        line = (
            f"{self.label:<48} {self.concurrency:>4} {1 / per:>12,.0f} {per * 1e6:>8.2f} "
            f"{self.allowed * 100:>7.1f}%"
        )
        if self.trips is not None and self.commands is not None:
            line += f" {self.trips:>9.2f} {self.commands:>9.2f}"
        print(line)


def header(*, redis: bool) -> None:
    extra = f" {'trips/dec':>9} {'cmds/dec':>9}" if redis else ""
    print(f"{'limiter':<48} {'conc':>4} {'decisions/s':>12} {'µs/dec':>8} {'allowed':>8}{extra}")


# In memory.

Factory = Callable[[str], Decide]


def keel_memory(limit: int, *, with_headers: bool) -> Factory:
    def build(_prefix: str) -> Decide:
        limiter = MemoryLimiter(max_keys=1_000_000)

        async def decide(key: str) -> bool:
            result: Decision = await limiter.decide(key, limit=limit, window_seconds=WINDOW)
            if with_headers:
                _ = result.headers
            return result.allowed

        return decide

    return build


def limits_memory(limit: int, *, moving: bool, with_stats: bool) -> Factory:
    def build(_prefix: str) -> Decide:
        strategy = (MovingWindowRateLimiter if moving else FixedWindowRateLimiter)(MemoryStorage())
        item = RateLimitItemPerMinute(limit)

        async def decide(key: str) -> bool:
            allowed = await strategy.hit(item, key)
            if with_stats:
                await strategy.get_window_stats(item, key)
            return allowed

        return decide

    return build


async def bench_memory(args: argparse.Namespace) -> None:
    load = workload(args.keys, args.decisions)
    print(
        f"In memory: {args.keys:,} keys, {args.limit} per {WINDOW} s each, "
        f"{len(load):,} decisions one at a time, best of {args.repeats}"
    )
    header(redis=False)
    cases = {
        "keel MemoryLimiter.decide": keel_memory(args.limit, with_headers=False),
        "keel MemoryLimiter.decide + headers": keel_memory(args.limit, with_headers=True),
        "limits moving window hit": limits_memory(args.limit, moving=True, with_stats=False),
        "limits moving window hit + get_window_stats": limits_memory(
            args.limit, moving=True, with_stats=True
        ),
        "limits fixed window hit": limits_memory(args.limit, moving=False, with_stats=False),
    }
    figures = {label: Figures(label, 1) for label in cases}
    for _ in range(args.repeats):  # interleaved, so a busy moment does not favour one case
        for label, build in cases.items():
            figures[label].keep(*await run(build(""), load, 1, args.max_seconds))
    for figure in figures.values():
        figure.print()


# Against Redis.


def bench_redis_url() -> str:
    url = os.environ.get("KEEL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
    host = urlsplit(url).hostname
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"KEEL_BENCH_REDIS_URL must name 127.0.0.1 (got {host!r}).")
    return url


def counting_pool(url: str, size: int) -> BlockingConnectionPool:
    return BlockingConnectionPool.from_url(
        url, max_connections=size, timeout=10, connection_class=CountingConnection
    )


async def commands_processed(admin: Redis) -> int:
    stats = await admin.info("stats")
    return int(stats["total_commands_processed"])


async def measure_redis(
    figure: Figures, decide: Decide, load: Sequence[str], *, admin: Redis, budget: float
) -> None:
    # Warm-up: every connection of the pool opened, every script loaded.
    await asyncio.gather(*(decide(f"warm-{n}") for n in range(figure.concurrency * 2)))
    sent, processed = CountingConnection.sent, await commands_processed(admin)
    made, allowed, seconds = await run(decide, load, figure.concurrency, budget)
    figure.trips = (CountingConnection.sent - sent) / made
    figure.commands = (await commands_processed(admin) - processed - 1) / made  # less our INFO
    figure.keep(made, allowed, seconds)


def keel_redis(client: Redis, limit: int, *, failover: bool) -> Factory:
    def build(prefix: str) -> Decide:
        limiter: RedisLimiter | FailoverLimiter = RedisLimiter(client, prefix=prefix)
        if failover:
            limiter = FailoverLimiter(limiter, MemoryLimiter())

        async def decide(key: str) -> bool:
            result = await limiter.decide(key, limit=limit, window_seconds=WINDOW)
            _ = result.headers
            return result.allowed

        return decide

    return build


def limits_redis(
    url: str, pool: BlockingConnectionPool, limit: int, *, with_stats: bool
) -> Factory:
    def build(prefix: str) -> Decide:
        shared: dict[str, Any] = {"connection_pool": pool}  # typed float | str | bool in limits
        storage = LimitsRedisStorage(
            "async+" + url, implementation="redispy", key_prefix=prefix.rstrip(":"), **shared
        )
        strategy = MovingWindowRateLimiter(storage)
        item = RateLimitItemPerMinute(limit)

        async def decide(key: str) -> bool:
            allowed = await strategy.hit(item, key)
            if with_stats:
                await strategy.get_window_stats(item, key)
            return allowed

        return decide

    return build


async def bench_redis(args: argparse.Namespace) -> None:
    url = bench_redis_url()
    root = f"keel:bench:ratelimit:{uuid.uuid4().hex[:8]}:"
    load = workload(args.keys, args.redis_decisions)
    admin = Redis.from_url(url)
    print(
        f"\nRedis {url}: {args.keys:,} keys, {args.limit} per {WINDOW} s each, "
        f"{len(load):,} decisions, best of {args.repeats}"
    )
    header(redis=True)
    try:
        for concurrency in (1, args.concurrency):
            pool = counting_pool(url, max(concurrency, 2))
            client = Redis(connection_pool=pool)
            cases = {
                "keel RedisLimiter.decide + headers": keel_redis(
                    client, args.limit, failover=False
                ),
                "keel FailoverLimiter(Redis) + headers": keel_redis(
                    client, args.limit, failover=True
                ),
                "limits moving window hit": limits_redis(url, pool, args.limit, with_stats=False),
                "limits moving window hit + get_window_stats": limits_redis(
                    url, pool, args.limit, with_stats=True
                ),
            }
            figures = {label: Figures(label, concurrency) for label in cases}
            for repeat in range(args.repeats):
                for n, (label, build) in enumerate(cases.items()):
                    decide = build(f"{root}{concurrency}:{repeat}:{n}:")
                    await measure_redis(
                        figures[label], decide, load, admin=admin, budget=args.max_seconds
                    )
            for figure in figures.values():
                figure.print()
            await client.aclose()
            await pool.disconnect()
    finally:
        removed = await delete_keys(admin, f"{root}*")
        await admin.aclose()
        print(f"(removed {removed:,} bench keys under {root})")


async def delete_keys(admin: Redis, pattern: str) -> int:
    keys = [key async for key in admin.scan_iter(match=pattern, count=1_000)]
    for start in range(0, len(keys), 1_000):
        await admin.delete(*keys[start : start + 1_000])
    return len(keys)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=200_000)
    parser.add_argument("--redis-decisions", type=int, default=20_000)
    parser.add_argument("--keys", type=int, default=1_000)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--max-seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-redis", action="store_true")
    args: Any = parser.parse_args(argv)
    asyncio.run(bench_memory(args))
    if not args.skip_redis:
        asyncio.run(bench_redis(args))


if __name__ == "__main__":
    main()
