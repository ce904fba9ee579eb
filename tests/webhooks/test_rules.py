"""Pure webhook rules, table-driven: signatures (checked with the standardwebhooks library),
the retry schedule, Retry-After, what an answer means, Slack text."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from keel.webhooks import rules

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SECRET = rules.secret_from_bytes(b"k" * 32)
OTHER = rules.secret_from_bytes(b"o" * 32)


def test_sign__any_body__same_signature_as_standardwebhooks() -> None:
    # Given a body with non-ASCII text
    body = rules.message_body(event_type="project.created", occurred_at=NOW, data={"a": "é"})
    # When Keel signs it
    ours = rules.sign(SECRET, msg_id="msg_1", timestamp=int(NOW.timestamp()), body=body)
    # Then the reference library computes the same signature
    assert ours == Webhook(SECRET).sign("msg_1", NOW, body.decode())


def test_signature_header__two_secrets__space_separated_each_valid() -> None:
    header = rules.signature_header([SECRET, OTHER], msg_id="msg_1", timestamp=1, body=b"{}")
    first, second = header.split(" ")
    assert first == rules.sign(SECRET, msg_id="msg_1", timestamp=1, body=b"{}")
    assert second == rules.sign(OTHER, msg_id="msg_1", timestamp=1, body=b"{}")


@pytest.mark.parametrize(
    ("expires", "count"),
    [(NOW + timedelta(hours=1), 2), (NOW - timedelta(seconds=1), 1), (None, 1)],
)
def test_signing_secrets__previous_within_or_past_grace(
    expires: datetime | None, count: int
) -> None:
    assert len(rules.signing_secrets(SECRET, OTHER, expires, now=NOW)) == count


@pytest.mark.parametrize(
    ("attempts_made", "delay"),
    [
        (1, timedelta(seconds=5)),
        (2, timedelta(minutes=5)),
        (3, timedelta(minutes=30)),
        (4, timedelta(hours=2)),
        (5, timedelta(hours=5)),
        (6, timedelta(hours=10)),
        (7, timedelta(hours=10)),
        (11, timedelta(hours=10)),
    ],
)
def test_next_attempt_at__schedule__standard_webhooks_delays(
    attempts_made: int, delay: timedelta
) -> None:
    assert rules.next_attempt_at(attempts_made, now=NOW) == NOW + delay


def test_next_attempt_at__schedule_spent__none_after_about_three_days() -> None:
    assert rules.next_attempt_at(rules.MAX_ATTEMPTS, now=NOW) is None
    total = sum(rules.SCHEDULE, timedelta())
    assert timedelta(days=2, hours=12) < total < timedelta(days=3, hours=6)


@pytest.mark.parametrize(
    ("retry_after", "delay"),
    [(2.0, timedelta(seconds=5)), (600.0, timedelta(minutes=10)), (10**9, timedelta(hours=10))],
)
def test_next_attempt_at__retry_after__longer_wins_capped(
    retry_after: float, delay: timedelta
) -> None:
    got = rules.next_attempt_at(1, now=NOW, retry_after=retry_after, max_retry_after=36_000)
    assert got == NOW + delay


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("Wed, 25 Nov 2026 09:01:00 GMT", 60.0),
        ("Wed, 25 Nov 2026 08:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_seconds__forms(value: str | None, seconds: float | None) -> None:
    assert rules.retry_after_seconds(value, now=NOW) == seconds


@pytest.mark.parametrize(
    ("status", "success", "gone"),
    [
        (200, True, False),
        (204, True, False),
        (299, True, False),
        (302, False, False),
        (410, False, True),
        (500, False, False),
        (None, False, False),
    ],
)
def test_is_success_is_gone__statuses(status: int | None, success: bool, gone: bool) -> None:
    assert (rules.is_success(status), rules.is_gone(status)) == (success, gone)


@pytest.mark.parametrize(
    ("since", "disable"),
    [(NOW - timedelta(days=5), True), (NOW - timedelta(days=4, hours=23), False), (None, False)],
)
def test_should_disable_for_failing__five_days(since: datetime | None, disable: bool) -> None:
    assert rules.should_disable_for_failing(since, now=NOW, after_days=5) is disable


@pytest.mark.parametrize(
    ("chosen", "event", "yes"),
    [
        ([], "project.created", True),
        (["project.created"], "project.created", True),
        (["member.joined"], "project.created", False),
    ],
)
def test_subscribed__empty_is_everything(chosen: list[str], event: str, yes: bool) -> None:
    assert rules.subscribed(chosen, event) is yes


def test_message_body__shape__type_timestamp_data() -> None:
    event_id, org_id = uuid.uuid4(), uuid.uuid4()
    data = rules.event_data(
        {"project_id": "p"}, event_id=event_id, organization_id=org_id, version=1
    )
    body = json.loads(rules.message_body(event_type="project.created", occurred_at=NOW, data=data))
    assert body == {
        "type": "project.created",
        "timestamp": "2026-11-25T09:00:00Z",
        "data": {
            "project_id": "p",
            "id": str(event_id),
            "organization_id": str(org_id),
            "version": 1,
        },
    }


def test_slack_body__message__text_with_event_and_short_fields() -> None:
    body = rules.message_body(
        event_type="member.joined",
        occurred_at=NOW,
        data={"user_id": "u1", "id": "e", "organization_id": "o", "version": 1, "big": "x" * 500},
    )
    assert json.loads(rules.slack_body(body)) == {"text": "*member.joined*\nuser_id: u1"}


def test_excerpt__long_or_binary__truncated_leniently() -> None:
    assert rules.excerpt(b"a" * 10, 4) == "aaaa"
    assert rules.excerpt(b"\xff\xfe", 10) == "\ufffd\ufffd"
    assert rules.excerpt(b"a\x00b", 10) == "a\ufffdb"
