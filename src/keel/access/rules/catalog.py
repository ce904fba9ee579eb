"""The role and permission catalog (drawn in ``keel.access.rules``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

Scope = Literal["own", "shared", "team", "organization", "global"]
Ref = str | uuid.UUID
Effect = Literal["allow", "deny"]
Target = Literal["user", "resource"]

SCOPES: tuple[Scope, ...] = ("own", "shared", "team", "organization", "global")
SCOPE_RANK: Mapping[str, int] = {scope: rank for rank, scope in enumerate(SCOPES)}
_SHORT = {"organization": "org"}

#: Organization roles, lowest first; the platform ``superadmin`` stands outside this order.
ROLE_ORDER: tuple[str, ...] = ("guest", "user", "member", "manager", "admin")


@dataclass(frozen=True, slots=True)
class Grant:
    permission: str
    scope: Scope

    def __str__(self) -> str:
        return f"{self.permission} at {self.scope} scope"


@dataclass(frozen=True, slots=True)
class Role:
    """A named set of grants; ``rank`` places a built-in role in ROLE_ORDER (None: custom)."""

    name: str
    grants: tuple[Grant, ...]
    rank: int | None = None
    by_permission: Mapping[str, Grant] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        widest: dict[str, Grant] = {}
        for grant in self.grants:
            held = widest.get(grant.permission)
            if held is None or SCOPE_RANK[grant.scope] > SCOPE_RANK[held.scope]:
                widest[grant.permission] = grant
        object.__setattr__(self, "by_permission", widest)


def _grants(scope: Scope, *permissions: str) -> tuple[Grant, ...]:
    return tuple(Grant(permission, scope) for permission in permissions)


_CONTENT = ("projects", "documents")
_OWN_GRANTS: Mapping[str, tuple[Grant, ...]] = {
    "guest": _grants("own", "profile:read") + _grants("shared", "projects:read", "documents:read"),
    "user": _grants(
        "own", "profile:write", *(f"{c}:{a}" for c in _CONTENT for a in ("read", "write"))
    ),
    "member": _grants("organization", "projects:read", "documents:read"),
    "manager": _grants("organization", "users:read", "analytics:read")
    + _grants("team", "team:read", "team:write")
    + _grants("team", *(f"{c}:{a}" for c in _CONTENT for a in ("read", "write", "delete"))),
    "admin": _grants("organization", "users:create", "users:read", "users:update", "users:delete")
    + _grants("organization", "billing:read", "billing:update", "analytics:read")
    + _grants("organization", "settings:read", "settings:update", "team:read", "team:write")
    + _grants("organization", "audit:read", "webhooks:read", "webhooks:write")
    + _grants("organization", *(f"{c}:{a}" for c in _CONTENT for a in ("read", "write", "delete"))),
}

PERMISSIONS: frozenset[str] = frozenset(
    grant.permission for grants in _OWN_GRANTS.values() for grant in grants
)
ACTION_OF: Mapping[str, str] = {p: p.partition(":")[2] for p in PERMISSIONS}


def _build_roles() -> dict[str, Role]:
    """Each organization role holds its own grants plus every grant of the roles below it."""
    roles: dict[str, Role] = {}
    inherited: tuple[Grant, ...] = ()
    for rank, name in enumerate(ROLE_ORDER):
        inherited += _OWN_GRANTS[name]
        roles[name] = Role(name, inherited, rank)
    roles["superadmin"] = Role("superadmin", _grants("global", *sorted(PERMISSIONS)))
    return roles


ROLES: Mapping[str, Role] = MappingProxyType(_build_roles())
SUPERADMIN = ROLES["superadmin"]


def role_at_least(role: str, minimum: str) -> bool:
    """Whether organization role ``role`` ranks at or above ``minimum`` (e.g. for invitations)."""
    for name in (role, minimum):
        if name not in ROLE_ORDER:
            raise ValueError(f"unknown organization role {name!r}; use one of {ROLE_ORDER}")
    return ROLE_ORDER.index(role) >= ROLE_ORDER.index(minimum)


def custom_role(name: str, grants: Iterable[Grant]) -> Role:
    """An organization's own role: a subset of catalog permissions, never at global scope.

    Whether the organization's plan allows custom roles is decided by the caller (plans)."""
    if name in ROLES:
        raise ValueError(f"{name!r} is a built-in role; give the custom role another name")
    chosen = tuple(grants)
    for grant in chosen:
        if grant.permission not in PERMISSIONS:
            known = ", ".join(sorted(PERMISSIONS))
            raise ValueError(f"unknown permission {grant.permission!r}; choose from: {known}")
        if grant.scope == "global":
            raise ValueError(f"{grant}: global scope is reserved to the platform superadmin")
    return Role(name, chosen)


def catalog_table() -> str:
    """The role x permission table drawn in this module's docstring (a test keeps them equal)."""
    names = [*ROLE_ORDER, "superadmin"]
    rows = [f"{'permission':<19}" + "".join(f"{n:<8}" for n in names).rstrip()]
    for permission in sorted(PERMISSIONS):
        cells = [ROLES[n].by_permission.get(permission) for n in names]
        text = "".join(f"{_SHORT.get(g.scope, g.scope) if g else '-':<8}" for g in cells)
        rows.append(f"{permission:<19}" + text.rstrip())
    return "\n".join(rows)
