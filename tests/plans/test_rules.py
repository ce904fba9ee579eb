"""Plan entitlements, pure: merging overrides, limits, the cheapest upgrade, validation."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest

from keel.plans import rules


def terms(key: str, price: int, public: bool = True, **features: Any) -> rules.PlanTerms:
    return rules.PlanTerms(
        key=key,
        name=key.title(),
        price_monthly_cents=price,
        price_annual_cents=price * 10,
        features=MappingProxyType(features),
        rate_limits=MappingProxyType({"api": rules.RateLimit(100, 60)}),
        public=public,
    )


PLANS = [
    terms("free", 0, max_projects=3, api_access=False),
    terms("starter", 1900, max_projects=20, api_access=True),
    terms("secret", 100, public=False, max_projects=-1, api_access=True),
    terms("enterprise", 49900, max_projects=-1, api_access=True),
]


@pytest.mark.parametrize(
    ("limit", "current", "adding", "expected"),
    [(3, 2, 1, True), (3, 3, 1, False), (3, 3, 0, True), (-1, 10**9, 1, True), (0, 0, 1, False)],
)
def test_within__limit_current_adding__expected(
    limit: int, current: int, adding: int, expected: bool
) -> None:
    assert rules.within(limit, current=current, adding=adding) is expected


@pytest.mark.parametrize(
    ("feature", "needed", "expected"),
    [
        ("api_access", None, "starter"),
        ("max_projects", 4, "starter"),
        ("max_projects", 21, "enterprise"),
        ("sso", None, None),
    ],
)
def test_cheapest_allowing__feature__cheapest_public_plan(
    feature: str, needed: int | None, expected: str | None
) -> None:
    # The hidden plan is cheaper and would fit, but is never offered
    found = rules.cheapest_allowing(PLANS, feature, needed=needed)
    assert (found.key if found else None) == expected


def test_entitlements__override__replaces_named_features_and_groups_only() -> None:
    # Given a free plan and an enterprise deal that lifts projects and the API rate limit
    override = {
        "features": {"max_projects": 50},
        "rate_limits": {"api": {"limit": 5, "window_seconds": 1}, "generate": None},
    }
    # When merged
    granted = rules.entitlements(PLANS[0], override)
    # Then only what the override names changed
    assert granted.limit("max_projects") == 50
    assert granted.allows("api_access") is False
    assert granted.rate_limits["api"] == rules.RateLimit(5, 1)
    assert granted.rate_limits["generate"] is None


def test_check_features__wrong_kinds_unknown_and_missing__each_named() -> None:
    problems = rules.check_features(
        {"max_users": True, "sso": "yes", "max_projects": -2, "colour": 1}, complete=True
    )
    named = {name for name, _ in problems}
    assert {"max_users", "sso", "max_projects", "colour", "api_access"} <= named
    assert ("max_users", "must be a whole number, -1 for unlimited") in problems


@pytest.mark.parametrize(
    ("used", "limit", "expected"), [(1, 4, 25.0), (5, -1, None), (3, 0, 100.0)]
)
def test_percent__used_of_limit(used: int, limit: int, expected: float | None) -> None:
    assert rules.percent(used, limit) == expected


def test_vocabulary__every_feature_labelled_and_kinds_split() -> None:
    assert set(rules.LABELS) == set(rules.FEATURES)
    assert rules.LIMITS | rules.SWITCHES | {"sla_guarantee"} == set(rules.FEATURES)
