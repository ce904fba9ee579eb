"""What may be written into an audit entry: changes are recorded field by field, and
anything that looks like a secret is masked before it reaches the table."""

from __future__ import annotations

import re
from typing import Any

MASK = "[redacted]"
_SECRET_FIELD = re.compile(r"pass(word)?|secret|token|api[_-]?key|hash|otp|credential", re.I)


def mask_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: MASK if _SECRET_FIELD.search(str(key)) else mask_secrets(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``{"field": {"before": old, "after": new}}`` for the fields that changed."""
    keys = before.keys() | after.keys()
    return {
        key: {"before": before.get(key), "after": after.get(key)}
        for key in sorted(keys)
        if before.get(key) != after.get(key)
    }
