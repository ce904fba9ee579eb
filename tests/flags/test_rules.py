from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import pytest

from keel.flags import rules
from keel.flags.rules import (
    EXAMPLE_FLAGS,
    EvaluationContext,
    Flag,
    FlagSet,
    Prerequisite,
    Rule,
    Variant,
)
from tests.flags.builders import (
    ORG,
    OTHER_USER,
    USER,
    context,
    evaluate,
    flag,
    plan_in,
    targeting,
)

# ---- precedence --------------------------------------------------------------------------------

# Known buckets (see the vectors in test_bucketing.py): ai_assistant/user-1 -> 8824,
# ai_assistant/user-2 -> 5917, ai_assistant/org-42 -> 2927.
PRECEDENCE = [
    pytest.param(
        flag(enabled=False, targeting=targeting(include_users=(USER,))),
        context(),
        (),
        (False, "FLAG_DISABLED", "DISABLED"),
        id="disabled-first-even-for-an-included-user",
    ),
    pytest.param(
        flag(environment="production", targeting=targeting(include_users=(USER,))),
        context("staging"),
        (),
        (False, "ENVIRONMENT_MISMATCH", "DISABLED"),
        id="environment-filters-before-includes",
    ),
    pytest.param(
        flag(environment="production", prerequisites=(Prerequisite("gone"),)),
        context("development"),
        (),
        (False, "ENVIRONMENT_MISMATCH", "DISABLED"),
        id="environment-filters-before-prerequisites",
    ),
    pytest.param(
        flag(environment="all"),
        context("development"),
        (),
        (True, "IN_ROLLOUT", "STATIC"),
        id="all-runs-in-every-environment",
    ),
    pytest.param(
        flag(environment="staging"),
        context("staging"),
        (),
        (True, "IN_ROLLOUT", "STATIC"),
        id="matching-environment-passes",
    ),
    pytest.param(
        flag(prerequisites=(Prerequisite("base"),), targeting=targeting(include_users=(USER,))),
        context(),
        (flag("base", enabled=False),),
        (False, "PREREQUISITE_FAILED", "DEFAULT"),
        id="failed-prerequisite-beats-include",
    ),
    pytest.param(
        flag(prerequisites=(Prerequisite("gone"),)),
        context(),
        (),
        (False, "PREREQUISITE_MISSING", "ERROR"),
        id="missing-prerequisite-is-off-and-an-error",
    ),
    pytest.param(
        flag(prerequisites=(Prerequisite("base"),)),
        context(),
        (flag("base"),),
        (True, "IN_ROLLOUT", "STATIC"),
        id="held-prerequisite-lets-evaluation-go-on",
    ),
    pytest.param(
        flag(targeting=targeting(include_users=(USER,), rules=(plan_in("enterprise"),))),
        context(plan="free"),
        (),
        (True, "USER_INCLUDED", "TARGETING_MATCH"),
        id="included-user-beats-attribute-mismatch",
    ),
    pytest.param(
        flag(targeting=targeting(include_organizations=(ORG,), rules=(plan_in("enterprise"),))),
        context(plan="free"),
        (),
        (True, "ORGANIZATION_INCLUDED", "TARGETING_MATCH"),
        id="included-organization-beats-attribute-mismatch",
    ),
    pytest.param(
        flag(rollout_percentage=0, targeting=targeting(include_users=(USER,))),
        context(),
        (),
        (True, "USER_INCLUDED", "TARGETING_MATCH"),
        id="included-user-beats-zero-rollout",
    ),
    pytest.param(
        flag(targeting=targeting(exclude_users=(USER,))),
        context(),
        (),
        (False, "USER_EXCLUDED", "TARGETING_MATCH"),
        id="excluded-user-beats-full-rollout",
    ),
    pytest.param(
        flag(targeting=targeting(exclude_organizations=(ORG,))),
        context(),
        (),
        (False, "ORGANIZATION_EXCLUDED", "TARGETING_MATCH"),
        id="excluded-organization-beats-full-rollout",
    ),
    pytest.param(
        flag(targeting=targeting(exclude_users=(USER,), include_organizations=(ORG,))),
        context(),
        (),
        (False, "USER_EXCLUDED", "TARGETING_MATCH"),
        id="user-exclude-beats-organization-include",
    ),
    pytest.param(
        flag(targeting=targeting(include_users=(USER,), exclude_organizations=(ORG,))),
        context(),
        (),
        (True, "USER_INCLUDED", "TARGETING_MATCH"),
        id="user-include-beats-organization-exclude",
    ),
    pytest.param(
        flag(targeting=targeting(exclude_users=(OTHER_USER,), include_organizations=(ORG,))),
        context(),
        (),
        (True, "ORGANIZATION_INCLUDED", "TARGETING_MATCH"),
        id="another-users-exclude-does-not-touch-this-user",
    ),
    pytest.param(
        flag(targeting=targeting(rules=(plan_in("professional", "enterprise"),))),
        context(plan="free"),
        (),
        (False, "RULE_MISMATCH", "DEFAULT"),
        id="attribute-mismatch-is-off",
    ),
    pytest.param(
        flag(targeting=targeting(rules=(plan_in("enterprise"), Rule("seats", "gte", 10)))),
        context(plan="enterprise", seats=3),
        (),
        (False, "RULE_MISMATCH", "DEFAULT"),
        id="every-rule-must-hold",
    ),
    pytest.param(
        flag(targeting=targeting(rules=(plan_in("enterprise"), Rule("seats", "gte", 10)))),
        context(plan="enterprise", seats=30),
        (),
        (True, "IN_ROLLOUT", "TARGETING_MATCH"),
        id="rules-held-at-full-rollout",
    ),
    pytest.param(
        flag(rollout_percentage=0),
        context(),
        (),
        (False, "OUT_OF_ROLLOUT", "DEFAULT"),
        id="zero-rollout-is-off-for-everyone-else",
    ),
    pytest.param(
        flag("ai_assistant", rollout_percentage=90),
        context(user="user-1"),
        (),
        (True, "IN_ROLLOUT", "SPLIT"),
        id="bucket-8824-below-9000",
    ),
    pytest.param(
        flag("ai_assistant", rollout_percentage=88.24),
        context(user="user-1"),
        (),
        (False, "OUT_OF_ROLLOUT", "SPLIT"),
        id="bucket-8824-not-below-8824",
    ),
    pytest.param(
        flag("ai_assistant", rollout_percentage=30),
        context(user="user-2", org="org-42"),
        (),
        (False, "OUT_OF_ROLLOUT", "SPLIT"),
        id="user-keys-the-bucket-when-present",
    ),
    pytest.param(
        flag("ai_assistant", rollout_percentage=30),
        context(user=None, org="org-42"),
        (),
        (True, "IN_ROLLOUT", "SPLIT"),
        id="organization-keys-the-bucket-without-a-user",
    ),
    pytest.param(
        flag(rollout_percentage=50),
        context(user=None, org=None),
        (),
        (False, "NO_TARGETING_KEY", "DEFAULT"),
        id="partial-rollout-needs-an-id",
    ),
    pytest.param(
        flag(),
        context(user=None, org=None),
        (),
        (True, "IN_ROLLOUT", "STATIC"),
        id="full-rollout-needs-no-id",
    ),
]


@pytest.mark.parametrize(("subject", "ctx", "others", "expected"), PRECEDENCE)
def test_precedence__table__first_deciding_step_wins(
    subject: Flag,
    ctx: EvaluationContext,
    others: tuple[Flag, ...],
    expected: tuple[bool, str, str],
) -> None:
    answer = evaluate(subject, ctx, *others)
    assert (answer.enabled, answer.cause, answer.reason) == expected
    assert answer.value is expected[0]


def test_precedence__docstring__draws_the_order_the_table_tests() -> None:
    doc = rules.__doc__ or ""
    steps = ["switched off", "environment", "prerequisites", "user lists", "organization lists"]
    positions = [doc.index(step) for step in [*steps, "attribute rules", "rollout"]]
    assert positions == sorted(positions)


# ---- prerequisites: evaluation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("wanted", "user", "expected"),
    [(None, "u-1", True), ("blue", "u-1", True), ("red", "u-1", False), ("red", "u-3", True)],
)
def test_prerequisite__variant_required__holds_only_when_served(
    wanted: str | None, user: str, expected: bool
) -> None:
    # Given a base flag serving red/blue stickily (u-1 gets blue, u-3 red: see below)
    base = flag("base", variants=(Variant("red", "r"), Variant("blue", "b")))
    dependant = flag(prerequisites=(Prerequisite("base", wanted),))
    flags = FlagSet.compile([base, dependant])
    served = {u: flags.evaluate("base", context(user=u)).variant for u in ("u-1", "u-3")}
    assert served == {"u-1": "blue", "u-3": "red"}
    # When the dependant is evaluated, Then it follows the base's variant
    answer = flags.evaluate("f", context(user=user))
    assert answer.enabled is expected
    assert answer.cause == ("IN_ROLLOUT" if expected else "PREREQUISITE_FAILED")


def test_prerequisite__chain__each_link_must_hold() -> None:
    flags = FlagSet.compile(
        [
            flag("c", prerequisites=(Prerequisite("b"),)),
            flag("b", prerequisites=(Prerequisite("a"),)),
            flag("a", environment="production"),
        ]
    )
    assert flags.evaluate("c", context("production")).enabled
    staging = flags.evaluate_all(context("staging"))
    assert [(k, v.cause) for k, v in staging.items()] == [
        ("a", "ENVIRONMENT_MISMATCH"),
        ("b", "PREREQUISITE_FAILED"),
        ("c", "PREREQUISITE_FAILED"),
    ]


# ---- variants ----------------------------------------------------------------------------------


def test_variants__on__serve_the_variant_value_and_key() -> None:
    payload: rules.JsonValue = {"layout": "compact", "columns": [1, 2]}
    subject = flag(variants=(Variant("compact", payload, 1),))
    answer = evaluate(subject, context())
    assert (answer.enabled, answer.variant, answer.value) == (True, "compact", payload)


def test_variants__off__no_variant_and_caller_default() -> None:
    subject = flag(enabled=False, variants=(Variant("a", "A"), Variant("b", "B")))
    answer = evaluate(subject, context())
    assert (answer.enabled, answer.variant, answer.value) == (False, None, None)


def test_variants__included_user__still_gets_a_sticky_variant() -> None:
    subject = flag(
        targeting=targeting(include_users=("u-1",), exclude_organizations=(ORG,)),
        variants=(Variant("red", "r"), Variant("blue", "b")),
    )
    answer = evaluate(subject, context(user="u-1"))
    # murmur3("f:variant:u-1") % 2 == 0: the first weight point, so the first variant
    assert (answer.cause, answer.variant) == ("USER_INCLUDED", "red")


def test_variants__no_id__first_variant() -> None:
    subject = flag(variants=(Variant("control", 0), Variant("treatment", 1, 99)))
    answer = evaluate(subject, context(user=None, org=None))
    assert (answer.variant, answer.value) == ("control", 0)


def test_variants__weights_changed__only_weight_decides_not_rollout() -> None:
    # Given the same flag at 50% and at 100%
    variants = (Variant("a", "A", 1), Variant("b", "B", 1))
    half = FlagSet.compile([flag(rollout_percentage=50, variants=variants)])
    full = FlagSet.compile([flag(variants=variants)])
    # Then whoever is in both gets the same variant: the variant hash ignores the rollout
    for n in range(500):
        ctx = context(user=f"user-{n}")
        in_half = half.evaluate("f", ctx)
        if in_half.enabled:
            assert in_half.variant == full.evaluate("f", ctx).variant


# ---- explain -----------------------------------------------------------------------------------


def test_explain__rule_then_rollout__trace_names_each_step() -> None:
    subject = flag(
        "ai_assistant",
        rollout_percentage=25,
        targeting=targeting(rules=(plan_in("professional", "enterprise"),)),
    )
    answer = FlagSet.compile([subject]).evaluate(
        "ai_assistant", context(user="user-1", plan="enterprise"), explain=True
    )
    assert answer.trace == (
        "enabled: yes; environment: all matches",
        "rule plan in ['professional', 'enterprise']: holds on plan = 'enterprise'",
        "rollout: bucket 8824 of 'user-1' >= 2500 -> off",
        "result: off (OUT_OF_ROLLOUT, SPLIT)",
    )


def test_explain__failing_rule__trace_names_the_rule_and_the_value() -> None:
    subject = flag(
        targeting=targeting(
            exclude_users=(OTHER_USER,), rules=(Rule("seats", "gte", 10), plan_in("enterprise"))
        ),
        prerequisites=(Prerequisite("base"),),
    )
    flags = FlagSet.compile([subject, flag("base")])
    answer = flags.evaluate("f", context(seats=12, plan="free"), explain=True)
    assert answer.trace == (
        "enabled: yes; environment: all matches",
        "prerequisite 'base': on (IN_ROLLOUT)",
        "users: 'u-1' is neither included nor excluded",
        "rule seats gte 10: holds on seats = 12",
        "rule plan in ['enterprise']: fails on plan = 'free' -> off",
        "result: off (RULE_MISMATCH, DEFAULT)",
    )


def test_explain__variant_and_organization__trace_shows_the_pick() -> None:
    subject = flag(
        targeting=targeting(include_organizations=(ORG,)),
        variants=(Variant("a", "A", 1), Variant("b", "B", 3)),
    )
    answer = FlagSet.compile([subject]).evaluate("f", context(user=None), explain=True)
    picked = rules.variant_hash("f", ORG) % 4
    expected_variant = "a" if picked < 1 else "b"
    assert answer.variant == expected_variant
    assert answer.trace == (
        "enabled: yes; environment: all matches",
        "organizations: 'org-1' is included -> on",
        f"variant: {expected_variant!r} (weight point {picked} of 4 for 'org-1')",
        f"result: on, variant {expected_variant!r} (ORGANIZATION_INCLUDED, TARGETING_MATCH)",
    )


@pytest.mark.parametrize(
    ("_", "subject", "ctx", "others", "expected"), [(p.id, *p.values) for p in PRECEDENCE]
)
def test_explain__any_case__same_answer_as_without_and_ends_with_the_result(
    _: str,
    subject: Flag,
    ctx: EvaluationContext,
    others: Sequence[Flag],
    expected: tuple[bool, str, str],
) -> None:
    flags = FlagSet.compile([subject, *others])
    plain, explained = (
        flags.evaluate(subject.key, ctx),
        flags.evaluate(subject.key, ctx, explain=True),
    )
    assert plain.trace == ()
    assert dataclasses.replace(explained, trace=()) == plain
    assert explained.trace[-1].startswith(f"result: {'on' if expected[0] else 'off'}")


def test_evaluate__unknown_key__error_flag_not_found() -> None:
    answer = FlagSet.compile([]).evaluate("nope", context(), explain=True)
    assert (answer.enabled, answer.value, answer.reason, answer.error_code) == (
        False,
        None,
        "ERROR",
        "FLAG_NOT_FOUND",
    )
    assert answer.trace == ("flag 'nope': no such flag",)


# ---- evaluate_all and the examples -------------------------------------------------------------


def test_evaluate_all__examples__one_answer_per_flag_equal_to_single_evaluation() -> None:
    flags = FlagSet.compile(EXAMPLE_FLAGS)
    for n in range(200):
        ctx = context(user=f"user-{n}", plan=("free", "professional", "enterprise")[n % 3])
        every = flags.evaluate_all(ctx)
        assert set(every) == {"advanced_analytics", "ai_assistant", "team_collaboration"}
        assert every == {key: flags.evaluate(key, ctx) for key in every}


@pytest.mark.parametrize(
    ("plan", "environment", "expected"),
    [
        ("enterprise", "production", {"advanced_analytics": True, "team_collaboration": True}),
        ("professional", "staging", {"advanced_analytics": True, "team_collaboration": True}),
        ("free", "production", {"advanced_analytics": False, "team_collaboration": True}),
    ],
)
def test_examples__plan_and_environment__seed_behaviour(
    plan: str, environment: str, expected: dict[str, bool]
) -> None:
    flags = FlagSet.compile(EXAMPLE_FLAGS)
    answers = flags.evaluate_all(context(environment, plan=plan))
    assert {k: answers[k].enabled for k in expected} == expected
    if environment != "production":
        assert answers["ai_assistant"].cause == "ENVIRONMENT_MISMATCH"


def test_examples__ai_assistant__about_a_quarter_of_production_users() -> None:
    flags = FlagSet.compile(EXAMPLE_FLAGS)
    on = sum(
        flags.evaluate("ai_assistant", context(user=f"user-{n}")).enabled for n in range(10_000)
    )
    assert 2_300 <= on <= 2_700


# ---- the documentation's example ---------------------------------------------------------------


def fenced_blocks(markdown: str) -> list[tuple[str, list[str]]]:
    """(language, lines) of each fenced block of ``markdown``."""
    blocks: list[tuple[str, list[str]]] = []
    language, block = "", cast(list[str] | None, None)
    for line in markdown.splitlines():
        if not line.startswith("```"):
            if block is not None:
                block.append(line)
        elif block is None:
            language, block = line[3:], []
        else:
            blocks.append((language, block))
            block = None
    return blocks


def test_docs__json_example_and_its_traces__as_published() -> None:
    # Given the JSON definition and the traces printed in docs/flags.md
    doc = (Path(__file__).resolve().parents[2] / "docs" / "flags.md").read_text("utf-8")
    blocks = fenced_blocks(doc)
    example = next(lines for language, lines in blocks if language == "json")
    definition = rules.parse_flag(json.loads("\n".join(example)))
    flags = FlagSet.compile([*EXAMPLE_FLAGS, definition])
    # When user-3 and user-1 of org-42 are evaluated with explain
    traces = [
        list(
            flags.evaluate(
                "assistant_v2",
                context(user=user, org="org-42", plan="enterprise", app_version="2.5.1"),
                explain=True,
            ).trace
        )
        for user in ("user-3", "user-1")
    ]
    # Then the docs show exactly what the engine says, in that order
    published = [
        lines for language, lines in blocks if language == "" and lines[0].startswith("enabled")
    ]
    assert published == traces
