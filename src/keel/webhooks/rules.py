"""Pure webhook logic: message bodies, Standard Webhooks signatures, the retry schedule, what
an answer means, Slack text. No I/O, so all of it is table-tested.

Signatures follow https://www.standardwebhooks.com: ``v1,<base64 HMAC-SHA256>`` of
``"{webhook-id}.{webhook-timestamp}.{body}"`` keyed with the base64 bytes after ``whsec_``;
several signatures (current and previous secret during a rotation) are space-separated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret
SECRET_BYTES = 32
PING_EVENT = "webhook.test"

#: Delay before each attempt (Standard Webhooks' schedule, the 10 h step repeated) — about
#: 2.8 days from the first attempt to the last (CONTRACT.md: "about three days").
SCHEDULE: tuple[timedelta, ...] = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    *(timedelta(hours=10),) * 6,
)
MAX_ATTEMPTS = len(SCHEDULE)


# ---- messages ---------------------------------------------------------------------------------


def message_id(id_: uuid.UUID) -> str:
    """The ``webhook-id`` header of a message (``msg_`` + its UUIDv7)."""
    return f"msg_{id_.hex}"


def message_body(
    *,
    event_type: str,
    occurred_at: datetime,
    data: Mapping[str, Any],
) -> bytes:
    """The JSON sent, compact, built once and stored: the signed bytes never change."""
    document = {"type": event_type, "timestamp": _iso(occurred_at), "data": dict(data)}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def event_data(
    payload: Mapping[str, Any],
    *,
    event_id: uuid.UUID,
    organization_id: uuid.UUID,
    version: int,
) -> dict[str, Any]:
    return {
        **payload,
        "id": str(event_id),
        "organization_id": str(organization_id),
        "version": version,
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# ---- signing ----------------------------------------------------------------------------------


def secret_from_bytes(raw: bytes) -> str:
    return SECRET_PREFIX + base64.b64encode(raw).decode()


def secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets: Sequence[str], *, msg_id: str, timestamp: int, body: bytes) -> str:
    return " ".join(sign(s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets)


def signing_secrets(
    current: str, previous: str | None, previous_expires_at: datetime | None, *, now: datetime
) -> list[str]:
    """The current secret, and the previous one while its grace lasts."""
    if previous is not None and previous_expires_at is not None and now < previous_expires_at:
        return [current, previous]
    return [current]


# ---- answers and the schedule -----------------------------------------------------------------


def is_success(status: int | None) -> bool:
    """Only 2xx. A 3xx is a failure: redirects are not followed (they could point anywhere)."""
    return status is not None and 200 <= status < 300


def is_gone(status: int | None) -> bool:
    return status == 410


def retry_after_seconds(value: str | None, *, now: datetime) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def next_attempt_at(
    attempts_made: int,
    *,
    now: datetime,
    retry_after: float | None = None,
    max_retry_after: float = 36_000.0,
) -> datetime | None:
    """When to try again after ``attempts_made`` attempts, or None when the schedule is done.
    A longer ``Retry-After`` wins, capped at ``max_retry_after`` seconds."""
    if attempts_made >= MAX_ATTEMPTS:
        return None
    delay = SCHEDULE[attempts_made]
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=min(retry_after, max_retry_after)))
    return now + delay


def should_disable_for_failing(
    failing_since: datetime | None, *, now: datetime, after_days: int
) -> bool:
    return failing_since is not None and now - failing_since >= timedelta(days=after_days)


def excerpt(body: bytes, limit: int) -> str:
    """The start of a response for the log, decoded leniently."""
    return clean_text(body[:limit].decode("utf-8", errors="replace"), limit)


def clean_text(text: str, limit: int) -> str:
    """Storable on every backend: no NUL (PostgreSQL text refuses it), at most ``limit``."""
    return text.replace("\x00", "\ufffd")[:limit]


# ---- subscriptions ----------------------------------------------------------------------------


def subscribed(event_types: Iterable[str], event_type: str) -> bool:
    """An empty list subscribes to everything."""
    chosen = list(event_types)
    return not chosen or event_type in chosen


def unknown_event_types(chosen: Iterable[str], catalog: Iterable[str]) -> list[str]:
    known = set(catalog)
    return [name for name in chosen if name not in known]


# ---- Slack ------------------------------------------------------------------------------------


def slack_body(body: bytes) -> bytes:
    """A Slack ``{"text": ...}`` message from a stored webhook message: the event name and
    its ids, never more of the payload than the webhook carries."""
    message = json.loads(body)
    data = message.get("data", {})
    fields = [
        f"{key}: {value}"
        for key, value in data.items()
        if key not in {"id", "organization_id", "version"} and _short(value)
    ]
    text = f"*{message.get('type', 'event')}*"
    if fields:
        text += "\n" + "\n".join(fields[:10])
    return json.dumps({"text": text}, separators=(",", ":")).encode()


def _short(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and len(str(value)) <= 200
