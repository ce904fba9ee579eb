from __future__ import annotations

import math

import pytest

from keel.flags import rules
from keel.flags.rules import (
    EvaluationContext,
    Rule,
)
from tests.flags.builders import (
    ABSENT,
    ORG,
    OTHER_ORG,
    USER,
    context,
    definition_error,
    evaluate,
    flag,
    targeting,
)

# ---- operators ---------------------------------------------------------------------------------

OPERATOR_TABLE: list[tuple[str, object, object, bool]] = [
    ("in", ["professional", "enterprise"], "enterprise", True),
    ("in", ["professional", "enterprise"], "free", False),
    ("in", ["professional", "enterprise"], "Enterprise", False),
    ("in", ["professional", "enterprise"], ABSENT, False),
    ("in", ["professional", "enterprise"], None, False),
    ("in", ["professional", "enterprise"], ["enterprise"], False),
    ("in", [1, 2, 3], 2, True),
    ("in", [1, 2, 3], "2", False),
    ("not_in", ["free"], "enterprise", True),
    ("not_in", ["free"], "free", False),
    ("not_in", ["free"], ABSENT, False),
    ("not_in", ["free"], {"plan": "x"}, False),
    ("equals", "enterprise", "enterprise", True),
    ("equals", "enterprise", "free", False),
    ("equals", 5, 5, True),
    ("equals", 5, "5", False),
    ("equals", True, True, True),
    ("equals", "enterprise", ABSENT, False),
    ("not_equals", "free", "enterprise", True),
    ("not_equals", "free", "free", False),
    ("not_equals", "free", ABSENT, False),
    ("not_equals", "free", ["enterprise"], False),
    ("lt", 10, 9, True),
    ("lt", 10, 9.5, True),
    ("lt", 10, 10, False),
    ("lt", 10, "9", False),
    ("lt", 10, True, False),
    ("lt", 10, math.nan, False),
    ("lt", 10, ABSENT, False),
    ("lte", 10, 10, True),
    ("lte", 10, 10.01, False),
    ("gt", 10, 11, True),
    ("gt", 10, 10, False),
    ("gt", 2.5, 3, True),
    ("gte", 10, 10, True),
    ("gte", 10, 9.99, False),
    ("semver_gt", "2.4.0", "2.10.0", True),
    ("semver_gt", "2.4.0", "2.4.0", False),
    ("semver_gt", "2.4.0", "2.4.1-rc.1", True),
    ("semver_lt", "2.4.0", "2.4.0-rc.1", True),
    ("semver_lt", "1.0.0-alpha.1", "1.0.0-alpha", True),
    ("semver_lt", "1.0.0-alpha.beta", "1.0.0-alpha.1", True),
    ("semver_lt", "2.4.0", "2.3.99", True),
    ("semver_lte", "2.0.0", "2.0.0", True),
    ("semver_lte", "2.0.0", "2.0.1", False),
    ("semver_gte", "2.0.0", "1.9.9", False),
    ("semver_gte", "2.0.0", "2.0.0", True),
    ("semver_eq", "1.0.0", "1.0.0+build.7", True),
    ("semver_eq", "1.0.0", "1.0.0-rc.1", False),
    ("semver_gt", "2.4.0", "2.5", False),
    ("semver_gt", "2.4.0", "v2.5.0", False),
    ("semver_gt", "2.4.0", "not a version", False),
    ("semver_gt", "2.4.0", 250, False),
    ("semver_gt", "2.4.0", ABSENT, False),
    ("in_cidr", ["10.0.0.0/8", "2001:db8::/32"], "10.1.2.3", True),
    ("in_cidr", ["10.0.0.0/8", "2001:db8::/32"], "11.0.0.1", False),
    ("in_cidr", ["10.0.0.0/8", "2001:db8::/32"], "2001:db8::1", True),
    ("in_cidr", ["10.0.0.0/8", "2001:db8::/32"], "2001:db9::1", False),
    ("in_cidr", ["10.0.0.0/8", "2001:db8::/32"], "::ffff:10.0.0.1", True),
    ("in_cidr", ["192.168.1.0/24"], "192.168.2.1", False),
    ("in_cidr", ["192.168.1.0/24"], "not-an-address", False),
    ("in_cidr", ["192.168.1.0/24"], "", False),
    ("in_cidr", ["192.168.1.0/24"], 3232235777, False),
    ("in_cidr", ["192.168.1.0/24"], ABSENT, False),
]


@pytest.mark.parametrize(("operator", "value", "actual", "expected"), OPERATOR_TABLE)
def test_operator__attribute_value__holds_as_tabled(
    operator: str, value: object, actual: object, expected: bool
) -> None:
    # Given a flag whose one rule compares the attribute "a"
    rule = Rule("a", operator, value)
    subject = flag(targeting=targeting(rules=(rule,)))
    # When a context carries the value (or leaves it out)
    attributes = {} if actual is ABSENT else {"a": actual}
    answer = evaluate(subject, EvaluationContext(environment="production", attributes=attributes))
    # Then the rule alone decides
    assert answer.enabled is expected
    assert answer.cause == ("IN_ROLLOUT" if expected else "RULE_MISMATCH")


def test_operators__table__covers_every_operator() -> None:
    assert {row[0] for row in OPERATOR_TABLE} == set(rules.OPERATORS)


def test_in_cidr__ip_attribute__reads_the_context_address_not_the_attributes() -> None:
    subject = flag(targeting=targeting(rules=(Rule("ip", "in_cidr", ["10.0.0.0/8"]),)))
    assert evaluate(subject, context(ip="10.9.9.9")).enabled
    spoofed = EvaluationContext(
        environment="production", user_id=USER, attributes={"ip": "10.9.9.9"}, ip="203.0.113.7"
    )
    assert not evaluate(subject, spoofed).enabled


def test_built_in_attribute__organization_id__reads_the_context_field() -> None:
    subject = flag(targeting=targeting(rules=(Rule("organization_id", "in", [ORG]),)))
    assert evaluate(subject, context()).enabled
    assert not evaluate(subject, context(org=OTHER_ORG, organization_id=ORG)).enabled


MALFORMED_RULES = [
    (Rule("plan", "contains", "pro"), "operator", "unknown operator 'contains'"),
    (Rule("", "in", ["pro"]), "attribute", "must name an attribute"),
    (Rule("plan", "in", "pro"), "value", "non-empty list"),
    (Rule("plan", "in", []), "value", "non-empty list"),
    (Rule("plan", "in", [["pro"]]), "value[0]", "text, a number or a boolean"),
    (Rule("plan", "not_in", [None]), "value[0]", "text, a number or a boolean"),
    (Rule("plan", "equals", ["pro"]), "value", "one text, number or boolean"),
    (Rule("seats", "lt", "10"), "value", "give a number"),
    (Rule("seats", "gte", True), "value", "give a number"),
    (Rule("seats", "gt", math.inf), "value", "give a number"),
    (Rule("seats", "lte", math.nan), "value", "give a number"),
    (Rule("version", "semver_gt", "2.4"), "value", "not a SemVer version"),
    (Rule("version", "semver_eq", "v2.4.0"), "value", "not a SemVer version"),
    (Rule("version", "semver_lt", 2), "value", "not a SemVer version"),
    (Rule("ip", "in_cidr", "10.0.0.0/8"), "value", "non-empty list of networks"),
    (Rule("ip", "in_cidr", []), "value", "non-empty list of networks"),
    (Rule("ip", "in_cidr", [8]), "value[0]", "CIDR notation"),
    (Rule("ip", "in_cidr", ["10.0.0.0/33"]), "value[0]", "is not a network"),
    (Rule("ip", "in_cidr", ["10.0.0.0/8", "bogus"]), "value[1]", "is not a network"),
    (Rule("ip", "in_cidr", ["10.0.0.1/8"]), "value[0]", "did you mean 10.0.0.0/8?"),
]


@pytest.mark.parametrize(("rule", "field", "message"), MALFORMED_RULES)
def test_rule__malformed__refused_with_its_field_path(rule: Rule, field: str, message: str) -> None:
    ok = Rule("plan", "in", ["pro"])
    error = definition_error(flag("bad", targeting=targeting(rules=(ok, rule))))
    assert error.field == f"targeting.rules[1].{field}"
    assert message in error.message
    assert error.flag_key == "bad"
