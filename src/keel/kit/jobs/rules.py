"""Retry arithmetic: pure, so it is table-tested without a clock."""

from __future__ import annotations

import random


def retry_delay(
    attempt: int, *, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    Exponential (base, 2*base, 4*base...) capped at ``cap``, with "equal jitter": a random
    point in the upper half of the step, so retries of many jobs that failed together spread
    out while each still waits at least half the nominal delay.
    """
    step = min(cap, base * 2.0 ** max(0, attempt - 1))
    return step / 2 + (rng or random).uniform(0, step / 2)


def is_exhausted(attempts: int, max_attempts: int) -> bool:
    return attempts >= max_attempts
