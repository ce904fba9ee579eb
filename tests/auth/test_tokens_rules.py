"""Claims checks, table-driven (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from keel.auth import rules

NOW = 1_000_000.0
GOOD: dict[str, Any] = {
    "iss": "keel",
    "aud": "keel-api",
    "sub": "u",
    "sid": "s",
    "iat": NOW,
    "nbf": NOW,
    "exp": NOW + 900,
    "jti": "j",
}


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({}, None),
        ({"aud": ["other", "keel-api"]}, None),
        ({"exp": NOW - 3}, None),  # inside the leeway
        ({"sid": None}, None),  # present; its shape is checked by the caller
        ({"exp": NOW - 10}, "expired"),
        ({"nbf": NOW + 60}, "not valid yet"),
        ({"iat": NOW + 60}, "not valid yet"),
        ({"iss": "evil"}, "wrong issuer"),
        ({"aud": "other"}, "wrong audience"),
        ({"aud": ["other"]}, "wrong audience"),
        ({"exp": "never"}, "exp, nbf and iat must be numbers"),
        ({"exp": True}, "exp, nbf and iat must be numbers"),
    ],
)
def test_claims_problem__table(changes: dict[str, Any], problem: str | None) -> None:
    payload = {**GOOD, **changes}
    assert (
        rules.claims_problem(
            payload,
            required=rules.ACCESS_CLAIMS,
            issuer="keel",
            audience="keel-api",
            now=NOW,
            leeway=5,
        )
        == problem
    )


@pytest.mark.parametrize("claim", rules.ACCESS_CLAIMS)
def test_claims_problem__any_required_claim_missing__named(claim: str) -> None:
    payload = {k: v for k, v in GOOD.items() if k != claim}
    problem = rules.claims_problem(
        payload, required=rules.ACCESS_CLAIMS, issuer="keel", audience="keel-api", now=NOW, leeway=5
    )
    assert problem == f"missing claims: {claim}"
