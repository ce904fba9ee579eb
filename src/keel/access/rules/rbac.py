"""Role-based decisions: does a role grant reach this resource at its scope?"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from keel.access.rules.catalog import ROLES, SCOPE_RANK, SUPERADMIN, Grant, Ref, Role


@dataclass(frozen=True, slots=True)
class Subject:
    user_id: Ref
    organization_id: Ref | None
    roles: tuple[Role, ...] = ()
    team_ids: frozenset[Ref] = frozenset()
    is_superadmin: bool = False
    attributes: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Resource:
    type: str
    organization_id: Ref
    owner_id: Ref | None = None
    team_id: Ref | None = None
    attributes: Mapping[str, object] = field(default_factory=dict)


def roles_named(*names: str) -> tuple[Role, ...]:
    return tuple(ROLES[name] for name in names)


@dataclass(frozen=True, slots=True)
class RbacResult:
    allowed: bool
    reason: str
    role: Role | None = None
    grant: Grant | None = None


def _within(rank: int, subject: Subject, resource: Resource) -> bool:
    """Whether the resource lies inside a grant's scope; each scope includes the narrower."""
    if rank >= 3:  # organization (same organization is checked first) or global
        return True
    if resource.owner_id is not None and resource.owner_id == subject.user_id:
        return True
    if rank == 2 and resource.team_id is not None and resource.team_id in subject.team_ids:
        return True
    if rank >= 1:
        shared = resource.attributes.get("shared_with", ())
        return isinstance(shared, Collection) and _names(shared, subject.user_id)
    return False


def _names(shared: Collection[object], user_id: object) -> bool:
    """Whether ``shared`` holds the user id, as a UUID or as its text (JSON stores text)."""
    return user_id in shared or str(user_id) in shared


def rbac_decide(subject: Subject, permission: str, resource: Resource) -> RbacResult:
    same_org = resource.organization_id == subject.organization_id
    if not same_org and not subject.is_superadmin:
        return RbacResult(False, "the resource belongs to another organization")
    roles = (SUPERADMIN, *subject.roles) if subject.is_superadmin else subject.roles
    nearest: Grant | None = None
    for role in roles:
        grant = role.by_permission.get(permission)
        if grant is None:
            continue
        if _within(SCOPE_RANK[grant.scope], subject, resource):
            return RbacResult(True, f"role {role.name!r} grants {grant}", role, grant)
        nearest = grant
    if nearest is not None:
        return RbacResult(False, f"{nearest} does not reach this {resource.type} resource")
    names = ", ".join(role.name for role in roles) or "none"
    return RbacResult(False, f"no role grants {permission} (roles: {names})")
