"""Pure rules of the tenant: slugs, who may give which role, and turning stored policies and
custom roles (JSON) into the access engine's compiled objects."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import time
from typing import Any, cast

from keel.access.rules import (
    EVERY_DAY,
    ROLE_ORDER,
    ROLES,
    SCOPES,
    AttributeEquals,
    AttributeIn,
    Grant,
    IpInNetworks,
    Policy,
    Role,
    Scope,
    TimeWindow,
    custom_role,
    role_at_least,
)
from keel.access.rules.abac import Condition
from keel.access.rules.catalog import Effect

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
#: Slugs that would collide with URLs or mislead people.
RESERVED_SLUGS = frozenset({"admin", "api", "app", "www", "keel", "support", "help", "static"})


def slugify(name: str) -> str:
    """``"Ünïcode & Co."`` -> ``"unicode-co"``; empty when nothing usable remains."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return _NOT_SLUG.sub("-", ascii_name.lower()).strip("-")[:63].strip("-")


def may_grant(granter_role: str | None, role: str) -> bool:
    """Nobody hands out a role above their own (``None``: the platform superadmin)."""
    return granter_role is None or role_at_least(granter_role, role)


def is_admin(role: str) -> bool:
    return role == ROLE_ORDER[-1]


def member_roles(role: str, custom: Role | None) -> tuple[Role, ...]:
    base = ROLES[role]
    return (base,) if custom is None else (base, custom)


def custom_role_of(name: str, grants: Iterable[Mapping[str, str]]) -> Role:
    """A stored custom role (``[{permission, scope}]``) as an access role; raises ValueError
    with the fix when a grant names an unknown permission or the global scope."""
    return custom_role(name, (Grant(g["permission"], _scope(g["scope"])) for g in grants))


def _scope(value: str) -> Scope:
    if value not in SCOPES:
        raise ValueError(f"unknown scope {value!r}; use one of {SCOPES}")
    return value


def condition_of(raw: Mapping[str, Any]) -> Condition:
    """One stored condition (see ``schemas.Condition``) as an engine condition."""
    match raw["type"]:
        case "attribute_equals":
            return AttributeEquals(raw["target"], raw["key"], raw["value"])
        case "attribute_in":
            return AttributeIn(raw["target"], raw["key"], tuple(raw["values"]))
        case "ip_in":
            return IpInNetworks(tuple(raw["cidrs"]))
        case "time_window":
            days = frozenset(raw.get("weekdays") or EVERY_DAY)
            start, end = time.fromisoformat(raw["start"]), time.fromisoformat(raw["end"])
            return TimeWindow(start, end, raw["zone"], days)
    raise ValueError(f"unknown condition type {raw['type']!r}")


def policy_of(
    *,
    id_: str,
    name: str,
    resource_type: str,
    action: str,
    effect: str,
    conditions: Sequence[Mapping[str, Any]],
) -> Policy:
    if effect not in ("allow", "deny"):
        raise ValueError(f"effect must be allow or deny, not {effect!r}")
    compiled = tuple(condition_of(c) for c in conditions)
    return Policy(id_, name, resource_type, action, cast(Effect, effect), compiled)


#: Room left for the suffix within an organization name's 200 characters.
_PERSONAL_SUFFIX = "'s organization"


def personal_organization_name(user_name: str) -> str:
    """The organization made for a new user at sign-up: "Ada Lovelace's organization"."""
    return user_name.strip()[: 200 - len(_PERSONAL_SUFFIX)] + _PERSONAL_SUFFIX
