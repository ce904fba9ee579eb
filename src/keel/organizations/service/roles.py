"""Custom roles: an organization's own sets of grants, given to a member on top of their
built-in role (``Membership.custom_role_id``, set through the members API).

Managing them needs ``settings:update`` (admins): a custom role widens what members may do,
so it is an organization setting like the policies. Every change bumps the organization's
``access_version`` so compiled access data cached per version is never read stale; the role's
grants themselves are read with the member's row on every request, so a change is seen by the
very next one.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access import service as access
from keel.access.schemas import OrgAccess
from keel.audit import rules as audit_rules
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.events import service as events_service
from keel.events.schemas import Event
from keel.kit.db import unique_or_raise
from keel.kit.errors import ValidationFailed
from keel.kit.schemas import Page, PageParams
from keel.organizations import rules
from keel.organizations.errors import ObjectNotFound, OrganizationNotFound, RoleNameTaken
from keel.organizations.events import CustomRoleCreated, CustomRoleDeleted, CustomRoleUpdated
from keel.organizations.models import CustomRole
from keel.organizations.repository import organizations as org_repository
from keel.organizations.repository.roles import CustomRoleRepository
from keel.organizations.schemas import CustomRoleCreate, CustomRoleRead, CustomRoleUpdate, GrantIn
from keel.organizations.service.access import bump_access_version
from keel.plans import service as plans_service

MANAGE = "settings:update"


async def create(session: AsyncSession, org: OrgAccess, data: CustomRoleCreate) -> CustomRoleRead:
    access.ensure(org, MANAGE)
    await plans_service.ensure_feature(session, org, "custom_roles")
    role = CustomRole(
        organization_id=org.org_id,
        name=data.name.strip(),
        description=data.description,
        grants=_validated(data.name.strip(), data.grants),
    )
    async with unique_or_raise(session, _name_taken(role)):
        await CustomRoleRepository(session, org.org_id).add(role)
    await _changed(session, org, role, "custom_role.created", _snapshot(role))
    await events_service.publish(session, _event(CustomRoleCreated, org, role))
    return _read(role)


async def list_page(
    session: AsyncSession, org: OrgAccess, page: PageParams
) -> Page[CustomRoleRead]:
    access.ensure(org, MANAGE)
    window = await CustomRoleRepository(session, org.org_id).page(page)
    return Page(items=[_read(r) for r in window.items], next_cursor=window.next_cursor)


async def get(session: AsyncSession, org: OrgAccess, role_id: uuid.UUID) -> CustomRoleRead:
    return _read(await _role(session, org, role_id))


async def update(
    session: AsyncSession, org: OrgAccess, role_id: uuid.UUID, data: CustomRoleUpdate
) -> CustomRoleRead:
    role = await _role(session, org, role_id)
    before = _snapshot(role)
    name = data.name.strip() if data.name is not None else role.name
    grants = data.grants
    role.grants = _validated(name, grants) if grants is not None else _stored(name, role.grants)
    role.name = name
    if "description" in data.model_fields_set:
        role.description = data.description
    changes = audit_rules.diff(before, _snapshot(role))
    if not changes:
        return _read(role)
    async with unique_or_raise(session, _name_taken(role)):
        await session.flush()
    await _changed(session, org, role, "custom_role.updated", changes)
    await events_service.publish(session, _event(CustomRoleUpdated, org, role))
    return _read(role)


async def delete(session: AsyncSession, org: OrgAccess, role_id: uuid.UUID) -> None:
    """Members holding the role keep their membership with their built-in role only."""
    role = await _role(session, org, role_id)
    await _changed(session, org, role, "custom_role.deleted", _snapshot(role))
    await events_service.publish(session, _event(CustomRoleDeleted, org, role))
    await CustomRoleRepository(session, org.org_id).delete(role)


async def _role(session: AsyncSession, org: OrgAccess, role_id: uuid.UUID) -> CustomRole:
    role = await CustomRoleRepository(session, org.org_id).get(role_id)
    if role is None:
        raise ObjectNotFound("No custom role with this id here; list them to find it.")
    access.ensure(org, MANAGE)
    return role


def _validated(name: str, grants: list[GrantIn]) -> list[dict[str, str]]:
    """The grants as stored, after the access engine accepted them (422 with the fix)."""
    return _stored(name, [{"permission": g.permission, "scope": g.scope} for g in grants])


def _stored(name: str, grants: list[dict[str, str]]) -> list[dict[str, str]]:
    try:
        rules.custom_role_of(name, grants)
    except ValueError as exc:
        raise ValidationFailed(
            f"The custom role is not valid: {exc}.",
            errors=[{"field": "body", "message": str(exc)}],
        ) from None
    return grants


def _name_taken(role: CustomRole) -> RoleNameTaken:
    return RoleNameTaken(
        f"A custom role named {role.name!r} already exists here; choose another name."
    )


async def _changed(
    session: AsyncSession, org: OrgAccess, role: CustomRole, action: str, changes: dict[str, Any]
) -> None:
    """Audit the change and bump ``access_version``: what every role write ends with."""
    found = await org_repository.get(session, org.org_id)
    if found is None:
        raise OrganizationNotFound()
    await bump_access_version(session, found)
    target = Target(type="custom_role", id=str(role.id), organization_id=org.org_id)
    await audit_service.record(session, org.actor, action, target=target, changes=changes)


def _event(kind: type[Event], org: OrgAccess, role: CustomRole) -> Event:
    return kind.model_validate({"organization_id": org.org_id, "custom_role_id": role.id})


def _snapshot(role: CustomRole) -> dict[str, Any]:
    return {"name": role.name, "description": role.description, "grants": role.grants}


def _read(role: CustomRole) -> CustomRoleRead:
    return CustomRoleRead.model_validate(role, from_attributes=True)
