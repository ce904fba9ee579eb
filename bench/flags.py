"""Flag evaluation in-process: Keel's FlagSet.evaluate next to UnleashClient and
flagsmith-flag-engine, on the same flag and the same users.

    uv run python -m bench.flags [--evaluations 200000] [--their-evaluations 50000]

The flag is the seed's ``ai_assistant`` narrowed to paying plans: on for 25% of the users
whose ``plan`` is professional or enterprise, sticky per user. Each library gets it in its
own vocabulary:

- Keel: one attribute rule (``plan in [...]``) and ``rollout_percentage=25``.
- UnleashClient 6.x: a ``flexibleRollout`` (gradual rollout) strategy at 25, stickiness
  ``userId``, with one ``plan IN [...]`` constraint, bootstrapped from a dict into an in-memory
  cache; the client is never started, so nothing touches the network. Since 6.0 the SDK has no
  Python strategy or constraint classes any more: it hands the toggle state to its bundled
  Rust engine (``yggdrasil-engine``, over ctypes), so the feature is built as the JSON the
  Unleash API would serve. ``UnleashClient.is_enabled`` is what an application calls; the
  engine's own ``check_enabled`` (no metrics counting, no context enrichment) is timed too,
  as the floor of what the SDK could do.
- flagsmith-flag-engine: an evaluation context with the identity (its ``plan`` trait) and one
  segment whose ``ALL`` rule holds ``plan IN [...]`` and a 25% ``PERCENTAGE_SPLIT``, overriding
  the feature to enabled; ``get_evaluation_result`` evaluates it.

Equivalence limits: each product hashes differently (Keel murmur3 of ``key:user`` mod 10,000,
Unleash murmur3 of ``groupId:userId`` mod 100, Flagsmith md5 of segment and identity keys), so
the same 25% picks different users and the ``on`` counts differ slightly; the expected share is
2/3 x 25% = 16.7% for all three. Every context is built before the clock starts, for all three.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from typing import Any

from flag_engine.context.types import EvaluationContext as FlagsmithContext
from flag_engine.engine import get_evaluation_result
from UnleashClient.cache import BaseCache
from UnleashClient.clients.unleash_client import UnleashClient
from UnleashClient.constants import FEATURES_URL
from yggdrasil_engine.engine import UnleashEngine  # type: ignore[import-untyped]  # no hints

from keel.flags import rules

USERS = 10_000
PLANS = ("free", "professional", "enterprise")
PAYING = ["professional", "enterprise"]
KEY = "ai_assistant"


class MemoryCache(BaseCache):
    """Unleash's cache interface over a dict, so bootstrapping writes no file."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value

    def mset(self, data: dict[str, Any]) -> None:
        self.data.update(data)

    def get(self, key: str, default: Any | None = None) -> Any:
        return self.data.get(key, default)

    def exists(self, key: str) -> bool:
        return key in self.data

    def destroy(self) -> None:
        self.data.clear()


def users(rng: random.Random) -> list[tuple[str, str]]:
    return [(f"user-{n}", rng.choice(PLANS)) for n in range(USERS)]


def keel_flags() -> rules.FlagSet:
    rule = rules.Rule("plan", "in", tuple(PAYING))
    flag = rules.Flag(
        KEY,
        enabled=True,
        rollout_percentage=25,
        environment="production",
        targeting=rules.Targeting(rules=(rule,)),
    )
    return rules.FlagSet.compile([*rules.EXAMPLE_FLAGS[:1], flag, *rules.EXAMPLE_FLAGS[2:]])


def unleash_state() -> dict[str, Any]:
    strategy = {
        "name": "flexibleRollout",
        "parameters": {"rollout": "25", "stickiness": "userId", "groupId": KEY},
        "constraints": [{"contextName": "plan", "operator": "IN", "values": PAYING}],
    }
    feature = {"name": KEY, "enabled": True, "strategies": [strategy]}
    return {"version": 1, "features": [feature]}


def unleash_client() -> UnleashClient:
    cache = MemoryCache()
    cache.set(FEATURES_URL, json.dumps(unleash_state()))  # what FileCache.bootstrap_from_dict does
    cache.bootstrapped = True
    return UnleashClient(
        url="http://127.0.0.1:9/api",  # never contacted: initialize_client() is not called
        app_name="keel-bench",
        environment="production",
        disable_metrics=True,
        disable_registration=True,
        cache=cache,
    )


def unleash_engine() -> Any:
    engine = UnleashEngine()
    engine.take_state(json.dumps(unleash_state()))
    return engine


def flagsmith_context(user: str, plan: str) -> FlagsmithContext[Any, Any]:
    segment_rule: Any = {
        "type": "ALL",
        "conditions": [
            {"property": "plan", "operator": "IN", "value": PAYING},
            {"property": "$.identity.key", "operator": "PERCENTAGE_SPLIT", "value": "25"},
        ],
    }
    return {
        "environment": {"key": "production", "name": "production"},
        "identity": {"identifier": user, "key": f"production_{user}", "traits": {"plan": plan}},
        "features": {KEY: {"key": "1", "name": KEY, "enabled": False, "value": None}},
        "segments": {
            "1": {
                "key": "1",
                "name": "paying_quarter",
                "rules": [segment_rule],
                "overrides": [
                    {"key": "1", "name": KEY, "enabled": True, "value": None, "priority": 0}
                ],
            }
        },
    }


def timed(count: int, run: Callable[[], int], repeats: int = 3) -> tuple[float, int]:
    """Best of ``repeats`` runs (µs per evaluation), and how many evaluations came out on."""
    best, on = float("inf"), 0
    for _ in range(repeats):
        started = time.perf_counter()
        on = run()
        best = min(best, (time.perf_counter() - started) / count * 1e6)
    return best, on


def row(label: str, count: int, micro: float, on: int, keel_us: float | None) -> None:
    ratio = f"{micro / keel_us:>9.1f}x" if keel_us is not None else f"{'-':>10}"
    print(f"{label:<40} {1e6 / micro:>12,.0f} {micro:>9.2f} {on / count * 100:>6.1f}% {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--evaluations", type=int, default=200_000)
    parser.add_argument("--their-evaluations", type=int, default=50_000)
    args = parser.parse_args()
    rng = random.Random(7)  # noqa: S311 - a reproducible load, not a secret
    people = users(rng)
    load = [rng.choice(people) for _ in range(args.evaluations)]
    theirs = load[: args.their_evaluations]

    flags = keel_flags()
    evaluate = flags.evaluate
    contexts = [
        rules.EvaluationContext(environment="production", user_id=u, attributes={"plan": p})
        for u, p in load
    ]
    client, engine = unleash_client(), unleash_engine()
    unleash_contexts = [{"userId": u, "properties": {"plan": p}} for u, p in theirs]
    flagsmith_contexts = [flagsmith_context(u, p) for u, p in theirs]

    def keel() -> int:
        return sum(evaluate(KEY, c).enabled for c in contexts)

    def keel_explain() -> int:
        return sum(flags.evaluate(KEY, c, explain=True).enabled for c in contexts[: len(theirs)])

    def keel_all() -> int:
        return sum(flags.evaluate_all(c)[KEY].enabled for c in contexts[: len(theirs)])

    def unleash() -> int:
        return sum(client.is_enabled(KEY, c) for c in unleash_contexts)

    def unleash_bare() -> int:
        return sum(engine.check_enabled(KEY, c).is_enabled for c in unleash_contexts)

    def flagsmith() -> int:
        return sum(
            bool(get_evaluation_result(c)["flags"][KEY]["enabled"]) for c in flagsmith_contexts
        )

    print(f"{'evaluator':<40} {'evals/s':>12} {'µs/eval':>9} {'on':>7} {'µs ÷ keel':>10}")
    keel_us, on = timed(len(contexts), keel)
    row("keel FlagSet.evaluate", len(contexts), keel_us, on, None)
    results: list[tuple[str, Callable[[], int]]] = [
        ("keel FlagSet.evaluate(explain=True)", keel_explain),
        ("keel evaluate_all (3 flags) per context", keel_all),
        ("UnleashClient.is_enabled", unleash),
        ("unleash engine check_enabled (floor)", unleash_bare),
        ("flagsmith-flag-engine", flagsmith),
    ]
    ratios: dict[str, float] = {}
    for label, run in results:
        micro, on = timed(len(theirs), run)
        row(label, len(theirs), micro, on, keel_us)
        ratios[label] = micro / keel_us
    verdict(ratios["UnleashClient.is_enabled"], ratios["flagsmith-flag-engine"])


def verdict(unleash: float, flagsmith: float) -> None:
    def met(ratio: float, goal: float) -> str:
        return f"{'met' if ratio >= goal else 'MISSED'} ({ratio:.1f}x)"

    print(
        f"keel vs UnleashClient, goal >= 25x: {met(unleash, 25)}; "
        f"vs flagsmith-flag-engine, goal >= 5x: {met(flagsmith, 5)}"
    )


if __name__ == "__main__":
    main()
