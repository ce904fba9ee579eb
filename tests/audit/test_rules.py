"""The audit rules, pure: secret masking, the hash recipe, CSV neutralization, filters,
retention."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from keel.audit import rules
from keel.audit.models import GENESIS, PLATFORM_CHAIN

API_KEY = "keel_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v"
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"


def entry_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": uuid.UUID("0190f5b4-0000-7000-8000-000000000001"),
        "organization_id": uuid.UUID("0190f5b4-0000-7000-8000-0000000000aa"),
        "seq": 1,
        "actor_kind": "user",
        "actor_id": "0190f5b4-0000-7000-8000-0000000000bb",
        "actor_user_id": uuid.UUID("0190f5b4-0000-7000-8000-0000000000bb"),
        "action": "project.created",
        "target_type": "project",
        "target_id": "p-1",
        "changes": {"name": {"before": None, "after": "Zoë"}},
        "context": None,
        "ip": "203.0.113.9",
        "user_agent": "pytest/1.0",
        "request_id": "req-1",
        "occurred_at": datetime(2026, 11, 25, 9, 0, 0, 123456, tzinfo=UTC),
    }
    return {**fields, **overrides}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"name": "Rockets"}, {"name": "Rockets"}),
        ({"password": "hunter2"}, {"password": rules.MASK}),
        ({"Authorization": "x"}, {"Authorization": rules.MASK}),
        ({"recovery_codes": ["a"]}, {"recovery_codes": rules.MASK}),
        ({"note": API_KEY}, {"note": rules.MASK}),
        ({"note": f"rotated to {WEBHOOK_SECRET}"}, {"note": rules.MASK}),
        ({"header": f"Bearer {JWT}"}, {"header": rules.MASK}),
        ({"list": [JWT, "plain"]}, {"list": [rules.MASK, "plain"]}),
        ({"prefix": "keel_abc1234"}, {"prefix": "keel_abc1234"}),  # the display prefix
        (
            {"nested": {"deep": [{"url": f"https://x/?k={API_KEY}"}]}},
            {"nested": {"deep": [{"url": rules.MASK}]}},
        ),
    ],
)
def test_mask_secrets__field_names_and_credential_values__masked(
    given: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert rules.mask_secrets(given) == expected


def test_chain_hash__recipe__sha256_of_prev_hash_and_canonical_json() -> None:
    # Given an entry's fields
    fields = entry_fields()
    # When it is hashed after the genesis
    digest = rules.chain_hash(GENESIS, fields)
    # Then it is the documented recipe, computed independently here
    canonical = json.dumps(
        {
            **{k: str(v) if isinstance(v, uuid.UUID) else v for k, v in fields.items()},
            "occurred_at": "2026-11-25T09:00:00.123456Z",
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    assert digest == hashlib.sha256((GENESIS + canonical).encode("utf-8")).hexdigest()


@pytest.mark.parametrize(
    "change",
    [
        {"action": "project.deleted"},
        {"seq": 2},
        {"changes": {"name": {"before": None, "after": "Zoe"}}},
        {"occurred_at": datetime(2026, 11, 25, 9, 0, 0, 123457, tzinfo=UTC)},
        {"organization_id": None},
    ],
)
def test_chain_hash__any_field_changed__other_hash(change: dict[str, Any]) -> None:
    assert rules.chain_hash(GENESIS, entry_fields(**change)) != rules.chain_hash(
        GENESIS, entry_fields()
    )


def test_chain_hash__same_moment_in_another_offset__same_hash() -> None:
    moment = datetime(2026, 11, 25, 9, 0, 0, 123456, tzinfo=UTC)
    paris = moment.astimezone(timezone(timedelta(hours=1)))
    assert rules.chain_hash(GENESIS, entry_fields(occurred_at=paris)) == rules.chain_hash(
        GENESIS, entry_fields(occurred_at=moment)
    )


def test_as_json__uuids_and_datetimes__as_they_read_back() -> None:
    value = {"id": uuid.UUID(int=1), "at": datetime(2026, 1, 1, tzinfo=UTC), "n": [1, 2.5]}
    assert rules.as_json(value) == {
        "id": "00000000-0000-0000-0000-000000000001",
        "at": "2026-01-01T00:00:00+00:00",
        "n": [1, 2.5],
    }


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("project.created", "project.created"),
        ("", ""),
    ],
)
def test_neutralize_cell__formula_start__prefixed_with_quote(cell: str, shown: str) -> None:
    assert rules.neutralize_cell(cell) == shown


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [("member.*", ("member.", True)), ("member.invited", ("member.invited", False))],
)
def test_action_matches__star_suffix__prefix(pattern: str, expected: tuple[str, bool]) -> None:
    assert rules.action_matches(pattern) == expected


@pytest.mark.parametrize(("days", "expected_days"), [(7, 7), (365, 365), (-1, None), (None, None)])
def test_retention_cutoff__days__now_minus_days_or_none(
    days: int | None, expected_days: int | None
) -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    expected = None if expected_days is None else now - timedelta(days=expected_days)
    assert rules.retention_cutoff(days, now=now) == expected


def test_chain_id__no_organization__platform_chain() -> None:
    org = uuid.uuid4()
    assert (rules.chain_id(org), rules.chain_id(None)) == (org, PLATFORM_CHAIN)
