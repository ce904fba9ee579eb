from __future__ import annotations

import dataclasses
import math
import uuid

import pytest

from keel.flags import rules
from keel.flags.rules import (
    EXAMPLE_FLAGS,
    EvaluationContext,
    Flag,
    FlagDefinitionError,
    FlagSet,
    Prerequisite,
    Rule,
    Targeting,
    Variant,
)
from tests.flags.builders import (
    ORG,
    USER,
    definition_error,
    flag,
    targeting,
)

# ---- definition validation ---------------------------------------------------------------------

MALFORMED_FLAGS = [
    (flag(""), "key", "letters, digits"),
    (flag("has space"), "key", "letters, digits"),
    (flag(enabled="yes"), "enabled", "true or false"),
    (flag(environment="prod"), "environment", "development, staging, production, all"),
    (flag(rollout_percentage=101), "rollout_percentage", "from 0 to 100"),
    (flag(rollout_percentage=-0.01), "rollout_percentage", "from 0 to 100"),
    (flag(rollout_percentage=math.nan), "rollout_percentage", "from 0 to 100"),
    (flag(rollout_percentage=True), "rollout_percentage", "from 0 to 100"),
    (flag(rollout_percentage="25"), "rollout_percentage", "from 0 to 100"),
    (flag(rollout_percentage=12.345), "rollout_percentage", "at most two decimals"),
    (flag(variants=(Variant("a", 1, 0),)), "variants[0].weight", "above 0"),
    (flag(variants=(Variant("a", 1, -5),)), "variants[0].weight", "above 0"),
    (flag(variants=(Variant("a", 1, True),)), "variants[0].weight", "above 0"),
    (flag(variants=(Variant("a", 1, 1.5),)), "variants[0].weight", "above 0"),  # type: ignore[arg-type]  # invalid on purpose
    (flag(variants=(Variant("a", 1), Variant("a", 2))), "variants[1].key", "used twice"),
    (flag(variants=(Variant("", 1),)), "variants[0].key", "non-empty name"),
    (flag(variants=(Variant("a", {"x": object()}),)), "variants[0].value", "must be JSON"),  # type: ignore[dict-item]  # invalid on purpose
    (flag(variants=(Variant("a", math.nan),)), "variants[0].value", "must be JSON"),
    (
        flag(targeting=targeting(include_users=(USER,), exclude_users=(USER,))),
        "targeting.exclude_users",
        "'u-1' is also in include_users",
    ),
    (
        flag(targeting=targeting(include_organizations=(ORG,), exclude_organizations=(ORG,))),
        "targeting.exclude_organizations",
        "keep each id on one list",
    ),
    (flag(targeting=targeting(include_users=("",))), "targeting.include_users[0]", "non-empty"),
    (flag(targeting=targeting(exclude_users="u-1")), "targeting.exclude_users", "list of ids"),
    (flag(prerequisites=(Prerequisite("f"),)), "prerequisites[0].flag", "cannot require itself"),
    (
        flag(prerequisites=(Prerequisite("a"), Prerequisite("a"))),
        "prerequisites[1].flag",
        "listed twice",
    ),
    (flag(prerequisites=(Prerequisite("bad key"),)), "prerequisites[0].flag", "key of another"),
]


@pytest.mark.parametrize(("subject", "field", "message"), MALFORMED_FLAGS)
def test_flag__malformed__refused_with_field_and_fix(
    subject: Flag, field: str, message: str
) -> None:
    error = definition_error(subject)
    # an unusable key cannot name the flag, so the error then carries no key
    assert (error.field, error.flag_key) == (field, None if field == "key" else subject.key)
    assert message in error.message
    assert str(error).endswith(f"{field}: {error.message}")


def test_flag_set__same_key_twice__refused() -> None:
    error = definition_error(flag("a"), flag("a"))
    assert (error.field, error.flag_key, error.message) == ("key", "a", "is used by two flags")


def test_flag_set__prerequisite_cycle__refused_naming_the_cycle() -> None:
    a = flag("a", prerequisites=(Prerequisite("b"),))
    b = flag("b", prerequisites=(Prerequisite("c"),))
    c = flag("c", prerequisites=(Prerequisite("a"),))
    error = definition_error(a, b, c)
    assert error.field == "prerequisites"
    assert error.flag_key == "a"
    assert "cycle a -> b -> c -> a" in error.message


def test_flag_set__prerequisite_variant_unknown__refused() -> None:
    base = flag("base", variants=(Variant("red", "r"), Variant("blue", "b")))
    error = definition_error(base, flag(prerequisites=(Prerequisite("base", "green"),)))
    assert (error.field, error.flag_key) == ("prerequisites[0].variant", "f")
    assert "'base' has no variant 'green'; use one of ['red', 'blue']" in error.message


def test_compile_flag__valid__keeps_the_definition() -> None:
    compiled = rules.compile_flag(EXAMPLE_FLAGS[0])
    assert compiled.definition is EXAMPLE_FLAGS[0]
    assert compiled.environment is None


# ---- prerequisites: cycles and order ------------------------------------------------------


@pytest.mark.parametrize(
    ("links", "cycle"),
    [
        ({"a": ["b"], "b": ["c"], "c": []}, ()),
        ({"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": []}, ()),
        ({"a": ["gone"]}, ()),
        ({"a": ["a"]}, ("a", "a")),
        ({"a": ["b"], "b": ["a"]}, ("a", "b", "a")),
        ({"x": [], "a": ["b"], "b": ["c"], "c": ["b"]}, ("b", "c", "b")),
        ({"a": ["b", "c"], "b": [], "c": ["d"], "d": ["a"]}, ("a", "c", "d", "a")),
    ],
)
def test_find_prerequisite_cycle__links__reports_the_closing_path(
    links: dict[str, list[str]], cycle: tuple[str, ...]
) -> None:
    flags = [flag(k, prerequisites=tuple(map(Prerequisite, v))) for k, v in links.items()]
    assert rules.find_prerequisite_cycle(flags) == cycle


def test_find_prerequisite_cycle__long_chain__no_recursion_limit() -> None:
    chain = [flag(f"f{n}", prerequisites=(Prerequisite(f"f{n + 1}"),)) for n in range(5000)]
    assert rules.find_prerequisite_cycle(chain) == ()
    closed = [*chain, flag("f5000", prerequisites=(Prerequisite("f0"),))]
    assert len(rules.find_prerequisite_cycle(closed)) == 5002


def test_dependency_order__diamond__requirements_first() -> None:
    flags = [
        flag("top", prerequisites=(Prerequisite("left"), Prerequisite("right"))),
        flag("left", prerequisites=(Prerequisite("base"),)),
        flag("right", prerequisites=(Prerequisite("base"),)),
        flag("base"),
    ]
    assert rules.dependency_order(flags) == ("base", "left", "right", "top")
    assert FlagSet.compile(flags).order == ("base", "left", "right", "top")


# ---- parsing and the context -------------------------------------------------------------------


def test_parse_flag__json_shape_of_each_example__round_trips() -> None:
    for example in EXAMPLE_FLAGS:
        shape = dataclasses.asdict(example)
        shape["targeting"]["rules"] = [
            dict(r, value=list(r["value"])) for r in shape["targeting"]["rules"]
        ]
        assert rules.parse_flag(shape) == example


def test_parse_flag__full_shape__builds_every_part() -> None:
    parsed = rules.parse_flag(
        {
            "key": "checkout",
            "enabled": True,
            "rollout_percentage": 12.5,
            "environment": "staging",
            "targeting": {
                "include_users": ["u-1"],
                "rules": [{"attribute": "app", "operator": "semver_gte", "value": "2.0.0"}],
            },
            "prerequisites": [{"flag": "base", "variant": "on"}],
            "variants": [{"key": "new", "value": {"steps": 2}, "weight": 3}],
        }
    )
    assert parsed == Flag(
        key="checkout",
        enabled=True,
        rollout_percentage=12.5,
        environment="staging",
        targeting=Targeting(include_users=("u-1",), rules=(Rule("app", "semver_gte", "2.0.0"),)),
        prerequisites=(Prerequisite("base", "on"),),
        variants=(Variant("new", {"steps": 2}, 3),),
    )


@pytest.mark.parametrize(
    ("shape", "field", "message"),
    [
        ({}, "key", "is required"),
        ({"key": 5}, "key", "must be text"),
        ({"key": "f", "enabeld": True}, "enabeld", "unknown field"),
        ({"key": "f", "enabled": "true"}, "enabled", "true or false"),
        ({"key": "f", "rollout_percentage": "25"}, "rollout_percentage", "must be a number"),
        ({"key": "f", "targeting": []}, "targeting", "must be an object"),
        ({"key": "f", "targeting": {"rule": []}}, "targeting.rule", "unknown field"),
        ({"key": "f", "targeting": {"include_users": "u-1"}}, "targeting.include_users", "list"),
        ({"key": "f", "targeting": {"include_users": [1]}}, "targeting.include_users[0]", "id"),
        (
            {"key": "f", "targeting": {"rules": [{"attribute": "plan", "operator": "in"}]}},
            "targeting.rules[0].value",
            "is required",
        ),
        (
            {"key": "f", "prerequisites": [{"flag": "a", "variant": 1}]},
            "prerequisites[0].variant",
            "null",
        ),
        ({"key": "f", "variants": [{"key": "a", "weight": "1"}]}, "variants[0].weight", "whole"),
        ({"key": "f", "variants": ["a"]}, "variants[0]", "must be an object"),
    ],
)
def test_parse_flag__bad_shape__refused_with_field_path(
    shape: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(FlagDefinitionError) as caught:
        rules.parse_flag(shape)
    assert caught.value.field == field
    assert message in caught.value.message


def test_context__unknown_environment__refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="'prod'; use one of development, production, staging"):
        EvaluationContext(environment="prod")


def test_context__uuid_user__refused_asking_for_text() -> None:
    with pytest.raises(TypeError, match=r"user_id must be text or None; pass str\(user_id\)"):
        EvaluationContext(environment="production", user_id=uuid.uuid4())  # type: ignore[arg-type]  # a UUID, not text: refused on purpose
