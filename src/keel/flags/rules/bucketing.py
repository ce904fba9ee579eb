"""Sticky, uniform buckets for rollouts and variants.

A rollout hashes the UTF-8 bytes of ``"{flag_key}:{unit_id}"`` with MurmurHash3 x86 32-bit
(seed 0, read unsigned), and the bucket is ``hash % 10000``: a unit is in a rollout of ``p``
percent when ``bucket < p * 100``. The unit is the user id, or the organization id when the
context has no user. Because the threshold only grows with ``p``, raising a rollout keeps
everyone who already had the flag, and the flag key in the input makes each flag's buckets
independent of every other flag's.

Variants use a second, independent hash of ``"{flag_key}:variant:{unit_id}"``, taken modulo
the sum of the variant weights and matched against the running total of the weights in the
order the variants are listed; so a user keeps a variant as long as the weights do not change,
and whether a user is in a rollout says nothing about which variant they get.

``hash % n`` over 2**32 values is uneven by at most one part in 430,000 for n = 10,000; too
little to matter next to the sampling noise of any real population.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

import mmh3

BUCKETS = 10_000


def rollout_hash(flag_key: str, unit_id: str) -> int:
    return mmh3.hash(f"{flag_key}:{unit_id}", 0, signed=False)


def rollout_bucket(flag_key: str, unit_id: str) -> int:
    return rollout_hash(flag_key, unit_id) % BUCKETS


def variant_hash(flag_key: str, unit_id: str) -> int:
    return mmh3.hash(f"{flag_key}:variant:{unit_id}", 0, signed=False)


def variant_index(flag_key: str, unit_id: str, weights: Sequence[int]) -> int:
    """Which of ``weights`` (positive, in listed order) the unit falls into."""
    running, total = [], 0
    for weight in weights:
        total += weight
        running.append(total)
    return bisect_right(running, variant_hash(flag_key, unit_id) % total)
