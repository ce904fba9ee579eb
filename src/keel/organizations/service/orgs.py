"""Organizations: create (the creator becomes admin), list mine, read, update, delete."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access import service as access
from keel.access.schemas import Actor, OrgAccess
from keel.audit import rules as audit_rules
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.events import service as events_service
from keel.kit import tenancy
from keel.kit.db import unique_or_raise
from keel.kit.errors import PermissionDenied
from keel.kit.ids import new_id
from keel.organizations import rules
from keel.organizations.errors import OrganizationNotFound, SlugTaken
from keel.organizations.events import (
    MemberJoined,
    OrganizationCreated,
    OrganizationDeleted,
    OrganizationUpdated,
)
from keel.organizations.models import Membership, Organization
from keel.organizations.repository import organizations as repository
from keel.organizations.schemas import OrganizationCreate, OrganizationUpdate
from keel.plans import service as plans_service
from keel.plans.events import SubscriptionChanged
from keel.users import service as users_service
from keel.users.models import User

_AUDITED = ("name", "slug", "plan", "industry", "team_size", "settings", "status")


async def create(
    session: AsyncSession, actor: Actor, user: User, data: OrganizationCreate
) -> Organization:
    org = Organization(
        id=new_id(),
        name=data.name.strip(),
        slug=data.slug or _slug_from(data.name),
        industry=data.industry,
        team_size=data.team_size,
        settings=data.settings,
    )
    await tenancy.enter_tenant(session, org.id, user_id=user.id)
    await _insert(session, org, explicit_slug=data.slug is not None)
    session.add(Membership(organization_id=org.id, user_id=user.id, role="admin"))
    await session.flush()
    await audit_service.record(
        session, actor, "organization.created", target=_target(org), changes=_snapshot(org)
    )
    await events_service.publish(
        session,
        OrganizationCreated(
            organization_id=org.id, org_id=org.id, slug=org.slug, created_by=user.id
        ),
    )
    await events_service.publish(
        session, MemberJoined(organization_id=org.id, user_id=user.id, role="admin")
    )
    return org


async def list_mine(session: AsyncSession, user_id: uuid.UUID) -> list[tuple[Organization, str]]:
    await tenancy.enter_user(session, user_id)
    return await repository.of_user(session, user_id)


async def get(session: AsyncSession, org: OrgAccess) -> Organization:
    found = await repository.get(session, org.org_id)
    if found is None:  # deleted in between: the proof was issued in this same transaction
        raise OrganizationNotFound()
    return found


async def update(session: AsyncSession, org: OrgAccess, data: OrganizationUpdate) -> Organization:
    access.ensure(org, "settings:update")
    found = await get(session, org)
    before = _snapshot(found)
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is not None or field in ("industry", "team_size"):
            setattr(found, field, value.strip() if field == "name" else value)
    changes = audit_rules.diff(before, _snapshot(found))
    if not changes:
        return found
    async with unique_or_raise(session, _slug_taken(found)):
        await session.flush()
    await audit_service.record(
        session, org.actor, "organization.updated", target=_target(found), changes=changes
    )
    await events_service.publish(
        session,
        OrganizationUpdated(organization_id=found.id, org_id=found.id, fields=sorted(changes)),
    )
    return found


async def delete(session: AsyncSession, org: OrgAccess, user: User, *, password: str) -> None:
    """Admins only, with their password and a verified email (the seed's restriction)."""
    access.ensure(org, "settings:update")
    if org.role != "admin" and not org.subject.is_superadmin:
        raise PermissionDenied("Only an admin of the organization may delete it.")
    if user.email_verified_at is None:
        raise PermissionDenied("Verify your email address before deleting an organization.")
    await users_service.require_password(user, password)
    found = await get(session, org)
    await audit_service.record(
        session, org.actor, "organization.deleted", target=_target(found), changes=_snapshot(found)
    )
    await events_service.publish(
        session, OrganizationDeleted(organization_id=found.id, org_id=found.id, slug=found.slug)
    )
    await repository.delete(session, found)


async def change_plan(session: AsyncSession, org: OrgAccess, plan_key: str) -> Organization:
    """The platform owner moves the organization to another plan (billing arrives later):
    audited and published as ``subscription.changed``. A plan whose limits the organization
    already passes is allowed: nothing is removed, further growth is refused."""
    if not org.subject.is_superadmin:
        raise PermissionDenied("Only the platform owner (superadmin) may change a plan.")
    await plans_service.validate_plan(session, plan_key)
    found = await get(session, org)
    previous = found.plan
    if previous == plan_key:
        return found
    found.plan = plan_key
    await session.flush()
    changes = {"plan": {"before": previous, "after": plan_key}}
    await audit_service.record(
        session, org.actor, "subscription.changed", target=_target(found), changes=changes
    )
    event = SubscriptionChanged(
        organization_id=found.id, previous_plan=previous, plan=plan_key, change="plan"
    )
    await events_service.publish(session, event)
    return found


def _slug_from(name: str) -> str:
    base = rules.slugify(name) or "org"
    if base in rules.RESERVED_SLUGS:
        base = f"{base}-org"
    return base


async def _insert(session: AsyncSession, org: Organization, *, explicit_slug: bool) -> None:
    """The unique index decides (other tenants' slugs are invisible under RLS): an explicit
    slug that is taken is a 409; a derived one gets a random suffix and is tried again."""
    for _attempt in range(5):
        try:
            async with unique_or_raise(session, _slug_taken(org)):
                await repository.add(session, org)
            return
        except SlugTaken:
            if explicit_slug:
                raise
            # the rolled-back savepoint already evicted the pending row; try a new slug
            org.slug = f"{org.slug[:56]}-{secrets.token_hex(3)}"
    raise SlugTaken("Could not find a free slug; choose one explicitly.")


def _slug_taken(org: Organization) -> SlugTaken:
    return SlugTaken(f"The slug {org.slug!r} is taken; choose another.")


def _snapshot(org: Organization) -> dict[str, Any]:
    return {field: getattr(org, field) for field in _AUDITED}


def _target(org: Organization) -> Target:
    return Target(type="organization", id=str(org.id), organization_id=org.id)
