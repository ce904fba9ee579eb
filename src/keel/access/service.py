"""``ensure``/``can``: every permission check in Keel goes through here, for the API, the web
pages, the God dashboard and the CLI alike (GUIDE §3.7).

A check reads only the :class:`~keel.access.schemas.OrgAccess` resolved for the request, the
resource's attributes and the clock: no I/O, a few microseconds. An API key is held to the
permissions it was given *and* to what its role allows, so it never does more than its creator.
"""

from __future__ import annotations

from keel.access.rules import Decision, Environment, RbacResult, Resource, decide
from keel.access.schemas import Actor, OrgAccess
from keel.kit import clock
from keel.kit.errors import PermissionDenied


def environment(access: OrgAccess) -> Environment:
    return access.environment or Environment(ip=access.actor.ip, now=clock.now())


def organization_resource(access: OrgAccess, type_: str) -> Resource:
    """The organization itself as the target, for organization-wide actions (invite, bill)."""
    return Resource(type=type_, organization_id=access.org_id)


def check(access: OrgAccess, permission: str, resource: Resource | None = None) -> Decision:
    target = resource or organization_resource(access, permission.partition(":")[0])
    decision = decide(access.subject, permission, target, environment(access), access.policies)
    granted = access.actor.permissions
    if decision.allowed and granted is not None and permission not in granted:
        return _key_denied(decision, permission)
    return decision


def can(access: OrgAccess, permission: str, resource: Resource | None = None) -> bool:
    return check(access, permission, resource).allowed


def ensure(access: OrgAccess, permission: str, resource: Resource | None = None) -> Decision:
    decision = check(access, permission, resource)
    if decision.allowed:
        return decision
    why = decision.rbac.reason if not decision.rbac.allowed else "an access policy denies it"
    raise PermissionDenied(
        f"You may not {permission} here: {why}. Ask an organization admin for the permission.",
        permission=permission,
    )


def holds_somewhere(access: OrgAccess, permission: str) -> bool:
    """Whether any of the caller's grants names ``permission`` at any scope: the route-level
    gate before the resource is known; the service checks the scope on the fetched row."""
    if access.actor.permissions is not None and permission not in access.actor.permissions:
        return False
    if access.subject.is_superadmin:
        return True
    return any(permission in role.by_permission for role in access.subject.roles)


def ensure_staff(actor: Actor) -> None:
    """The platform owner's own actions (the God dashboard) take the ``staff`` actor that only
    the superadmin-with-MFA guards make; their services check it again, so a caller that
    forgot the guard is refused rather than trusted."""
    if actor.kind != "staff":
        raise PermissionDenied("Only the platform owner (superadmin) may do this.")


def _key_denied(decision: Decision, permission: str) -> Decision:
    reason = f"this API key was not given {permission}"
    return Decision(False, "rbac-denied", RbacResult(False, reason))
