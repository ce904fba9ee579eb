"""Brute-force protection for logins: failure counters in the cache (Redis or in-process).

* Per account, keyed by the normalized email (so ``Bob@X.com`` and ``bob@x.com`` share one
  counter) and hashed, so the cache holds no addresses. Unknown emails are counted the same
  way: a guesser cannot tell an account exists by whether it ever locks.
* Per IP, in fixed windows of ``lockout_minutes`` on the rate limiter: once
  ``lockout_threshold`` failures are counted the address gets 429 until the window ends.
* Each failure so far adds a progressive delay (:func:`keel.auth.rules.progressive_delay`);
  the ``lockout_threshold``-th locks the account for ``lockout_minutes``.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

from keel.auth import rules
from keel.auth.errors import LoginRateLimited
from keel.config import Settings
from keel.kit.cache import Cache
from keel.kit.ratelimit import Limiter
from keel.users import rules as users_rules


@dataclass(frozen=True, slots=True)
class Failure:
    account_failures: int
    locked_now: bool


def account_key(email: str) -> str:
    try:
        normalized = users_rules.normalize_email(email)
    except users_rules.InvalidEmail:
        normalized = email.strip().lower()
    return hashlib.sha256(normalized.encode()).hexdigest()[:32]


def _failures_key(account: str) -> str:
    return f"auth:login:fail:{account}"


def _lock_key(account: str) -> str:
    return f"auth:login:lock:{account}"


def _ip_key(ip: str) -> str:
    return f"auth:login:ip:{ip}"


def _lock_seconds(settings: Settings) -> int:
    return settings.auth.lockout_minutes * 60


async def check_ip(limiter: Limiter, settings: Settings, ip: str | None) -> dict[str, str]:
    """The rate-limit headers for this address; raises 429 when it is over its budget.
    Reads the failure count without adding to it: only a failure spends the budget."""
    if ip is None:
        return {}
    limit = settings.auth.lockout_threshold
    window = _lock_seconds(settings)
    failures = await limiter.decide(_ip_key(ip), limit=limit, window_seconds=window, cost=0)
    if rules.is_locked(failures.used, threshold=limit):
        raise LoginRateLimited(
            f"Too many failed logins from this address; retry in {failures.retry_after} seconds.",
            headers=failures.headers,
            limit=limit,
            window=window,
            retry_after=failures.retry_after,
        )
    return failures.headers


async def account_failures(cache: Cache, account: str) -> int:
    return int(await cache.get(_failures_key(account)) or 0)


async def is_locked(cache: Cache, account: str) -> bool:
    return await cache.get(_lock_key(account)) is not None


async def pause_before_attempt(cache: Cache, account: str) -> None:
    await pause(rules.progressive_delay(await account_failures(cache, account)))


async def pause(seconds: float) -> None:
    """A module-level seam so tests can skip the real wait."""
    if seconds > 0:
        await asyncio.sleep(seconds)


async def record_failure(
    cache: Cache, limiter: Limiter, settings: Settings, *, account: str, ip: str | None
) -> Failure:
    ttl = _lock_seconds(settings)
    if ip is not None:
        limit = settings.auth.lockout_threshold
        await limiter.decide(_ip_key(ip), limit=limit, window_seconds=ttl)
    failures = await cache.incr(_failures_key(account), ttl=ttl)
    locked_now = rules.locks_now(failures, threshold=settings.auth.lockout_threshold)
    if locked_now:
        await cache.set(_lock_key(account), "locked", ttl=ttl)
    return Failure(account_failures=failures, locked_now=locked_now)


async def record_success(cache: Cache, account: str) -> None:
    await cache.delete(_failures_key(account))


async def unlock(cache: Cache, account: str) -> None:
    await cache.delete(_failures_key(account), _lock_key(account))
