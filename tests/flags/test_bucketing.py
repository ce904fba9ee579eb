from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from keel.flags.rules import (
    BUCKETS,
    EvaluationContext,
    Flag,
    FlagSet,
    Variant,
    rollout_bucket,
    rollout_hash,
    variant_hash,
    variant_index,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "flags.md"

# (flag key, unit id, murmur3 of "key:unit", bucket, murmur3 of "key:variant:unit"); the same
# table is published in docs/flags.md so that any other client can check its implementation.
VECTORS = [
    ("ai_assistant", "user-1", 1135198824, 8824, 136868717),
    ("ai_assistant", "user-2", 2123115917, 5917, 1483907677),
    ("ai_assistant", "org-42", 444502927, 2927, 3140317447),
    ("advanced_analytics", "user-1", 1076075233, 5233, 1629064034),
    ("new_checkout", "0190f5b2-7c1e-7a8b-9c3d-4e5f6a7b8c9d", 2776975559, 5559, 3970563145),
    ("beta", "Zoë", 2662056439, 6439, 643582458),
    ("beta", "用户-7", 398613352, 3352, 1127711329),
]

ONES = 0xFFFFFFFF


def reference_murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit written from its description, to check the library we call."""

    def rotl(value: int, bits: int) -> int:
        return ((value << bits) | (value >> (32 - bits))) & ONES

    def scramble(k: int) -> int:
        return (rotl((k * 0xCC9E2D51) & ONES, 15) * 0x1B873593) & ONES

    h, whole = seed, len(data) // 4 * 4
    for i in range(0, whole, 4):
        h = rotl(h ^ scramble(int.from_bytes(data[i : i + 4], "little")), 13)
        h = (h * 5 + 0xE6546B64) & ONES
    if tail := data[whole:]:
        h ^= scramble(int.from_bytes(tail, "little"))
    h ^= len(data)
    h = ((h ^ (h >> 16)) * 0x85EBCA6B) & ONES
    h = ((h ^ (h >> 13)) * 0xC2B2AE35) & ONES
    return h ^ (h >> 16)


def ids(count: int) -> list[str]:
    return [str(uuid.uuid5(uuid.NAMESPACE_URL, f"keel-user-{n}")) for n in range(count)]


def share_on(flags: FlagSet, key: str, units: list[str]) -> float:
    on = sum(
        flags.evaluate(key, EvaluationContext(environment="production", user_id=u)).enabled
        for u in units
    )
    return on / len(units) * 100


# ---- the documented hash -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("hello", 0x248BFA47),
        ("The quick brown fox jumps over the lazy dog", 0x2E4FF723),
    ],
)
def test_reference_murmur3__published_vectors__match(text: str, expected: int) -> None:
    assert reference_murmur3_32(text.encode()) == expected


@pytest.mark.parametrize(("key", "unit", "hashed", "bucket", "variant"), VECTORS)
def test_rollout_hash__vectors__as_published(
    key: str, unit: str, hashed: int, bucket: int, variant: int
) -> None:
    assert rollout_hash(key, unit) == hashed
    assert rollout_bucket(key, unit) == bucket == hashed % BUCKETS
    assert variant_hash(key, unit) == variant
    # and the vectors are plain murmur3 of the UTF-8 bytes, not a quirk of one library
    assert reference_murmur3_32(f"{key}:{unit}".encode()) == hashed
    assert reference_murmur3_32(f"{key}:variant:{unit}".encode()) == variant


def test_rollout_hash__many_inputs__equal_the_reference() -> None:
    for n, unit in enumerate([*ids(300), "", "é", "ü" * 7, "🚀-rocket", "a:b:c"]):
        key = f"flag_{n % 7}"
        assert rollout_hash(key, unit) == reference_murmur3_32(f"{key}:{unit}".encode())


def test_docs__vector_table__equals_the_tested_vectors() -> None:
    rows = []
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[2].isdigit():
            key, unit, hashed, bucket, variant = cells
            rows.append((key, unit, int(hashed), int(bucket), int(variant)))
    assert rows == VECTORS


# ---- rollouts: sticky, monotonic, uniform, independent -----------------------------------------

PERCENTAGES = [0, 0.01, 1, 5, 10, 25, 33.33, 50, 75, 90, 99.99, 100]


def test_rollout__raising_the_percentage__never_drops_anyone() -> None:
    # Given 10,000 users and the same flag at rising percentages
    units = ids(10_000)
    previous: set[str] = set()
    for percentage in PERCENTAGES:
        flags = FlagSet.compile([Flag("ai_assistant", enabled=True, rollout_percentage=percentage)])
        on = {
            u
            for u in units
            if flags.evaluate(
                "ai_assistant", EvaluationContext(environment="production", user_id=u)
            ).enabled
        }
        # Then whoever had it keeps it
        assert previous <= on, f"{len(previous - on)} users lost the flag at {percentage}%"
        previous = on
    assert len(previous) == len(units)


@pytest.mark.parametrize("percentage", [1, 10, 25, 50, 75, 90, 99])
def test_rollout__ten_thousand_users__within_two_points(percentage: float) -> None:
    flags = FlagSet.compile([Flag("checkout", enabled=True, rollout_percentage=percentage)])
    assert abs(share_on(flags, "checkout", ids(10_000)) - percentage) <= 2


def test_rollout__sequential_ids__within_two_points() -> None:
    flags = FlagSet.compile([Flag("checkout", enabled=True, rollout_percentage=30)])
    units = [f"user-{n}" for n in range(10_000)]
    assert abs(share_on(flags, "checkout", units) - 30) <= 2


def test_rollout__two_flags_at_half__independent_buckets() -> None:
    # Given two flags at 50%, Then about a quarter of users have both (not half: not correlated)
    flags = FlagSet.compile(
        [Flag(k, enabled=True, rollout_percentage=50) for k in ("first", "second")]
    )
    both = 0
    for unit in ids(10_000):
        ctx = EvaluationContext(environment="production", user_id=unit)
        both += flags.evaluate("first", ctx).enabled and flags.evaluate("second", ctx).enabled
    assert abs(both / 100 - 25) <= 2


def test_rollout__same_user_again__same_answer() -> None:
    flags = FlagSet.compile([Flag("checkout", enabled=True, rollout_percentage=50)])
    again = FlagSet.compile([Flag("checkout", enabled=True, rollout_percentage=50)])
    for unit in ids(500):
        ctx = EvaluationContext(environment="production", user_id=unit)
        assert flags.evaluate("checkout", ctx) == again.evaluate("checkout", ctx)


# ---- variants ----------------------------------------------------------------------------------


@pytest.mark.parametrize("weights", [(1, 1), (1, 2, 7), (25, 25, 50), (1, 99)])
def test_variants__weights__shares_proportional_within_two_points(
    weights: tuple[int, ...],
) -> None:
    variants = tuple(Variant(f"v{n}", n, w) for n, w in enumerate(weights))
    flags = FlagSet.compile([Flag("exp", enabled=True, variants=variants)])
    counts = [0] * len(weights)
    units = ids(10_000)
    for unit in units:
        ctx = EvaluationContext(environment="production", user_id=unit)
        counts[int(flags.evaluate("exp", ctx).value)] += 1  # type: ignore[arg-type]  # value is bool | JSON; this flag's is an int
    for count, weight in zip(counts, weights, strict=True):
        assert abs(count / len(units) * 100 - weight / sum(weights) * 100) <= 2


def test_variant_index__documented_formula__cumulative_weights() -> None:
    # weights 1, 2, 7 -> weight points 0 | 1-2 | 3-9 of 10
    for unit in ids(200):
        point = variant_hash("exp", unit) % 10
        expected = 0 if point < 1 else 1 if point < 3 else 2
        assert variant_index("exp", unit, (1, 2, 7)) == expected
