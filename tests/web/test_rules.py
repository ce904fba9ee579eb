"""The web session's pure core: cookie codec, CSRF token, HTML-or-JSON, form errors."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from keel.web import rules

KEY = rules.signing_key("test-secret-key-that-is-long-enough-0123456789")


def test_cookie__signed_in_state__round_trips() -> None:
    # Given a signed-in state
    state = rules.signed_in(uuid.uuid4(), uuid.uuid4())
    # When it is encoded and decoded
    back = rules.decode(rules.encode(state, KEY), KEY)
    # Then the same session comes back, no longer fresh
    assert back == replace(state, fresh=False)
    assert back is not None and back.signed_in


def test_cookie__mfa_pending_state__round_trips_without_session() -> None:
    state = rules.awaiting_mfa("mfa.token.value")
    back = rules.decode(rules.encode(state, KEY), KEY)
    assert back is not None
    assert back.mfa_token == "mfa.token.value"
    assert not back.signed_in


@pytest.mark.parametrize(
    "tamper",
    [
        lambda v: v[:-2] + ("AA" if not v.endswith("AA") else "BB"),  # signature changed
        lambda v: "eyJuIjoieCIsInMiOiIxIn0" + v[v.index(".") :],  # payload swapped
        lambda v: v.replace(".", ""),  # no separator
        lambda v: v + ".x",  # two separators
        lambda _v: "",  # empty
        lambda _v: "%%%.%%%",  # not base64
    ],
)
def test_cookie__tampered__not_decoded(tamper: object) -> None:
    # Given a valid cookie value, altered
    value = rules.encode(rules.signed_in(uuid.uuid4(), uuid.uuid4()), KEY)
    assert callable(tamper)
    # Then it is not accepted
    assert rules.decode(tamper(value), KEY) is None


def test_cookie__other_key__not_decoded() -> None:
    value = rules.encode(rules.anonymous(), KEY)
    assert rules.decode(value, rules.signing_key("another-secret-key-entirely-0123456789")) is None


def test_csrf__token_of_the_cookie__valid_only_for_that_nonce() -> None:
    # Given a stored (not fresh) state and its token
    state = replace(rules.anonymous(), fresh=False)
    token = rules.csrf_token(state, KEY)
    other = replace(rules.anonymous(), fresh=False)
    # Then the token passes for its state only, and nothing passes for none
    assert rules.csrf_valid(state, KEY, token)
    assert not rules.csrf_valid(other, KEY, token)
    assert not rules.csrf_valid(state, KEY, None)
    assert not rules.csrf_valid(state, KEY, "")


def test_csrf__fresh_state__never_valid() -> None:
    # A state made for this request has no cookie behind it: its token proves nothing.
    state = rules.anonymous()
    assert not rules.csrf_valid(state, KEY, rules.csrf_token(state, KEY))


def test_csrf__sign_in__renews_the_token() -> None:
    before = rules.anonymous()
    after = rules.signed_in(uuid.uuid4(), uuid.uuid4())
    assert rules.csrf_token(before, KEY) != rules.csrf_token(after, KEY)


@pytest.mark.parametrize(
    ("path", "accept", "html"),
    [
        ("/", "text/html", True),
        ("/app/x/dashboard", "*/*", True),
        ("/nowhere", "", True),
        ("/app/x/dashboard", "application/json", False),
        ("/nowhere", "application/problem+json", False),
        ("/api/v1/me", "text/html", False),
        ("/health", "text/html", False),
        ("/ready", "text/html", False),
        ("/metrics", "text/html", False),
        ("/.well-known/jwks.json", "text/html", False),
        ("/problems/not_found", "text/html", False),
    ],
)
def test_wants_html__path_and_accept__decides(path: str, accept: str, html: bool) -> None:
    assert rules.wants_html(path, accept) is html


def test_field_errors__problem_errors__first_message_per_form_field() -> None:
    errors = [
        {"field": "body.password", "message": "too short"},
        {"field": "body.password", "message": "too common"},
        {"field": "title", "message": "required"},
        {"message": "no field"},
    ]
    assert rules.field_errors(errors) == {
        "password": "too short",
        "title": "required",
        "form": "no field",
    }


@pytest.mark.parametrize(
    ("cents", "currency", "text"),
    [(0, "usd", "$0"), (1900, "usd", "$19"), (1950, "eur", "€19.50"), (250000, "jpy", "JPY 2,500")],
)
def test_price_text__cents__whole_units_and_symbol(cents: int, currency: str, text: str) -> None:
    assert rules.price_text(cents, currency) == text


def test_cookie_name__development__bare_else_host_prefixed() -> None:
    assert rules.cookie_name(development=True) == "keel_session"
    assert rules.cookie_name(development=False) == "__Host-keel_session"


def test_plan_lines__limits_switches_and_levels__readable_in_order() -> None:
    # Given a plan's features and the plans domain's wording
    features = {
        "max_users": 5,
        "max_api_calls_per_month": 10_000,
        "max_projects": -1,
        "api_access": True,
        "sso": False,
        "audit_logs": False,
        "audit_retention_days": 7,
        "sla_guarantee": "99.9%",
    }
    labels = {"max_users": "users", "max_api_calls_per_month": "API calls a month"}
    labels |= {"max_projects": "projects", "api_access": "API access", "sla_guarantee": "SLA"}
    # When it is written for the pricing table
    lines = rules.plan_lines(features, lambda name: labels.get(name, name))
    # Then limits come first with thousands separated and -1 unlimited, then what it includes;
    # audit history is not offered without the audit log, and absent switches are left out
    assert lines == [
        "5 users",
        "10,000 API calls a month",
        "Unlimited projects",
        "API access",
        "SLA: 99.9%",
    ]


def test_plan_lines__audit_log_included__its_history_listed() -> None:
    lines = rules.plan_lines({"audit_logs": True, "audit_retention_days": 90}, str)
    assert lines == ["90 audit_retention_days", "audit_logs"]
