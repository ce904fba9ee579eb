"""Fixed-window counting shared by every rate limit, against the configured cache."""

from __future__ import annotations

from keel.kit import ratelimit
from keel.kit.cache import Cache


async def test_hit__counts_until_over_with_contract_headers(cache: Cache) -> None:
    results = [await ratelimit.hit(cache, "probe", limit=3, seconds=3600) for _ in range(4)]
    assert [r.used for r in results] == [1, 2, 3, 4]
    assert [r.over for r in results] == [False, False, False, True]
    last = results[-1]
    assert last.headers["X-RateLimit-Limit"] == "3"
    assert last.headers["X-RateLimit-Remaining"] == "0"
    assert last.headers["Retry-After"] == str(last.retry_after)
    assert 0 < last.retry_after <= 3600


async def test_hit__separate_keys__separate_budgets(cache: Cache) -> None:
    await ratelimit.hit(cache, "a", limit=1, seconds=60)
    assert not (await ratelimit.hit(cache, "b", limit=1, seconds=60)).over
    assert (await ratelimit.hit(cache, "a", limit=1, seconds=60)).over


def test_fixed_window__aligned_to_clock() -> None:
    window = ratelimit.fixed_window(1_000.5, seconds=900)
    assert (window.index, window.resets_at, window.seconds) == (1, 1800, 900)
