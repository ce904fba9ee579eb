from __future__ import annotations

import random

import pytest

from keel.kit.jobs import rules


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [(1, 1.0, 2.0), (2, 2.0, 4.0), (3, 4.0, 8.0), (6, 32.0, 64.0), (12, 50.0, 100.0)],
)
def test_retry_delay__exponential_with_equal_jitter__within_upper_half(
    attempt: int, low: float, high: float
) -> None:
    # Given base 2 s and a cap of 100 s
    rng = random.Random(attempt)
    # When the delay is drawn many times
    delays = [rules.retry_delay(attempt, base=2.0, cap=100.0, rng=rng) for _ in range(200)]
    # Then each lies in [step/2, step] and they are spread out
    assert all(low <= d <= high for d in delays)
    assert max(delays) - min(delays) > (high - low) / 4


def test_retry_delay__grows_until_cap() -> None:
    rng = random.Random(0)
    means = [
        sum(rules.retry_delay(a, base=1.0, cap=60.0, rng=rng) for _ in range(100)) / 100
        for a in range(1, 10)
    ]
    assert means[:6] == sorted(means[:6])
    assert all(30.0 <= m <= 60.0 for m in means[6:])


@pytest.mark.parametrize(
    ("attempts", "max_attempts", "exhausted"),
    [(1, 3, False), (2, 3, False), (3, 3, True), (4, 3, True)],
)
def test_is_exhausted__at_max_attempts(attempts: int, max_attempts: int, exhausted: bool) -> None:
    assert rules.is_exhausted(attempts, max_attempts) is exhausted
