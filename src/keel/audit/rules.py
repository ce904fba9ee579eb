"""What may be written into an audit entry, how an entry is hashed into its chain, and how it
is shown in an export. Pure: plain values in, decisions out.

- Secrets never reach the table: a field named like one is masked, and so is any value that
  looks like a credential (an API key, a webhook secret, a JWT, a bearer header) wherever it
  hides.
- The hash recipe (docs/audit.md, ADR 0015): ``hash = SHA-256(prev_hash || canonical)``, hex,
  where ``canonical`` is the UTF-8 JSON of :data:`HASHED_FIELDS` with sorted keys, no
  whitespace, UUIDs as lowercase hyphenated text and ``occurred_at`` as
  ``YYYY-MM-DDTHH:MM:SS.ffffffZ``; a chain's first ``prev_hash`` is 64 zeros.
- CSV cells starting with ``= + - @``, tab or carriage return get a leading ``'`` (OWASP CSV
  injection), so a spreadsheet shows them as text instead of running them.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from keel.audit.models import PLATFORM_CHAIN

MASK = "[redacted]"
_SECRET_FIELD = re.compile(
    r"pass(word)?|secret|token|api[_-]?key|hash|otp|credential|authorization|cookie"
    r"|private[_-]?key|signing[_-]?key|recovery[_-]?code",
    re.I,
)
#: Values that are credentials whatever their field is called: API keys (``keel_`` + 43
#: characters; the 12-character display prefix stays readable), Standard Webhooks secrets,
#: JWTs and bearer headers.
_SECRET_VALUE = re.compile(
    r"keel_[A-Za-z0-9_-]{16,}|whsec_[A-Za-z0-9+/=_-]{16,}"
    r"|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*|bearer\s+\S{16,}",
    re.I,
)

#: The fields of an entry its hash covers, i.e. every column but ``prev_hash`` (which
#: prefixes the payload) and ``hash`` itself.
HASHED_FIELDS = (
    "id",
    "organization_id",
    "seq",
    "actor_kind",
    "actor_id",
    "actor_user_id",
    "action",
    "target_type",
    "target_id",
    "changes",
    "context",
    "ip",
    "user_agent",
    "request_id",
    "occurred_at",
)
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

#: The columns of a CSV export, in order.
EXPORT_COLUMNS = (
    "seq",
    "occurred_at",
    "actor_kind",
    "actor_id",
    "actor_email",
    "actor_name",
    "action",
    "target_type",
    "target_id",
    "changes",
    "ip",
    "user_agent",
    "request_id",
    "hash",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def mask_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: MASK if _SECRET_FIELD.search(str(key)) else mask_secrets(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_secrets(item) for item in value]
    if isinstance(value, str) and _SECRET_VALUE.search(value):
        return MASK
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``{"field": {"before": old, "after": new}}`` for the fields that changed."""
    keys = before.keys() | after.keys()
    return {
        key: {"before": before.get(key), "after": after.get(key)}
        for key in sorted(keys)
        if before.get(key) != after.get(key)
    }


def as_json(value: Any) -> Any:
    """``value`` as it will read back from a JSON column (UUIDs and datetimes as text), so
    the hash computed on write is the hash recomputed on verify."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=_plain))


def _plain(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def chain_id(organization_id: uuid.UUID | None) -> uuid.UUID:
    return organization_id or PLATFORM_CHAIN


def canonical(fields: Mapping[str, Any]) -> bytes:
    plain = {name: _canonical_value(fields[name]) for name in HASHED_FIELDS}
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _canonical_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime(_TIME_FORMAT)
    return value


def chain_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(fields)).hexdigest()


def action_matches(pattern: str) -> tuple[str, bool]:
    """``member.*`` -> (``member.``, prefix); anything else is an exact action."""
    if pattern.endswith("*"):
        return pattern[:-1], True
    return pattern, False


def neutralize_cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def retention_cutoff(days: int | None, *, now: datetime) -> datetime | None:
    """Entries older than this may be purged; None keeps everything (unlimited, ``-1``)."""
    if days is None or days < 0:
        return None
    return now - timedelta(days=days)
