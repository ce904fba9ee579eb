"""Fixed-window rate-limit arithmetic and the CONTRACT's rate-limit headers.

Pure functions plus one cache-backed counter: a window is aligned to the clock, so every
process (sharing Redis) counts into the same key and ``retry_after`` is exact.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from keel.kit.cache import Cache


@dataclass(frozen=True, slots=True)
class Window:
    """A fixed counting window: ``index`` names it in counter keys, ``resets_at`` is when a
    fresh one starts (Unix seconds)."""

    index: int
    resets_at: int
    seconds: int


def fixed_window(now: float, *, seconds: int) -> Window:
    index = math.floor(now / seconds)
    return Window(index=index, resets_at=(index + 1) * seconds, seconds=seconds)


def rate_limit_headers(*, limit: int, used: int, window: Window, now: float) -> dict[str, str]:
    """CONTRACT "Rate limits": the X-RateLimit-* trio, the IETF draft pair, and Retry-After
    when nothing is left."""
    remaining = max(0, limit - used)
    reset_in = max(1, math.ceil(window.resets_at - now))
    headers = {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(window.resets_at),
        "RateLimit-Policy": f"{limit};w={window.seconds}",
        "RateLimit": f"limit={limit}, remaining={remaining}, reset={reset_in}",
    }
    if remaining == 0:
        headers["Retry-After"] = str(reset_in)
    return headers


@dataclass(frozen=True, slots=True)
class Hit:
    used: int
    limit: int
    window: Window
    headers: dict[str, str]
    retry_after: int

    @property
    def over(self) -> bool:
        return self.used > self.limit


async def hit(cache: Cache, key: str, *, limit: int, seconds: int) -> Hit:
    """Count one event under ``key`` in the current window of ``seconds``."""
    now = time.time()
    window = fixed_window(now, seconds=seconds)
    used = await cache.incr(f"{key}:{window.index}", ttl=seconds)
    headers = rate_limit_headers(limit=limit, used=used, window=window, now=now)
    retry_after = max(1, math.ceil(window.resets_at - now))
    return Hit(used=used, limit=limit, window=window, headers=headers, retry_after=retry_after)
