"""``open_org``: the one place an :class:`~keel.access.schemas.OrgAccess` is made.

Order matters (GUIDE §3.3): first prove the organization exists *for this caller* (member,
the platform superadmin, or an API key of that very organization) and answer 404 otherwise,
so a 403 can never reveal another tenant's object; only then do routes check permissions.
The same call sets the transaction's tenant for PostgreSQL row-level security.
"""

from __future__ import annotations

import uuid

from cachetools import LRUCache
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.rules import Environment, PolicySet, Role, Subject
from keel.access.schemas import AccessibleOrgId, Actor, OrgAccess
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.kit import clock, tenancy
from keel.organizations import rules
from keel.organizations.errors import OrganizationNotFound, OrganizationSuspended
from keel.organizations.models import SUSPENDED, CustomRole, Organization
from keel.organizations.repository import organizations as repository
from keel.organizations.repository.organizations import AccessRow
from keel.organizations.repository.policies import PolicyRepository
from keel.users.models import ACTIVE


async def open_org(
    session: AsyncSession, actor: Actor, org_id: uuid.UUID, *, writes: bool = False
) -> OrgAccess:
    """The caller's standing in ``org_id``; ``writes`` when the request may change data (a
    superadmin's override of tenancy is then audited)."""
    user_id = actor.user_id
    if user_id is None or (actor.kind == "api_key" and actor.organization_id != org_id):
        raise OrganizationNotFound()
    await tenancy.enter_tenant(session, org_id, user_id=user_id)
    found = await repository.access_row(session, org_id, user_id)
    if found is None or found.organization is None or found.user.status != ACTIVE:
        raise OrganizationNotFound()
    superadmin = found.user.is_superadmin and actor.kind == "user"
    if found.membership is None and not superadmin:
        raise OrganizationNotFound()
    org = found.organization
    if org.status == SUSPENDED and not superadmin:
        raise OrganizationSuspended()
    access = OrgAccess(
        org_id=AccessibleOrgId(org.id),
        actor=actor,
        subject=subject_for(found, org, superadmin=superadmin),
        policies=await _policies(session, org),
        role=found.membership.role if found.membership else None,
        plan=org.plan,
        member_since=found.membership.joined_at if found.membership else None,
        environment=Environment(ip=actor.ip, now=clock.now()),
    )
    if found.membership is None and writes:
        await _audit_override(session, actor, org)
    return access


def subject_for(found: AccessRow, org: Organization, *, superadmin: bool) -> Subject:
    """How the user of ``found`` stands in ``org``: the one builder of a member's subject,
    for ``open_org`` and for the explain endpoint alike."""
    membership = found.membership
    return Subject(
        user_id=found.user.id,
        organization_id=org.id,
        roles=_roles(membership.role, found.custom_role) if membership else (),
        team_ids=frozenset([membership.team_id] if membership and membership.team_id else []),
        is_superadmin=superadmin,
        attributes=found.user.attributes or {},
    )


async def member_subject(
    session: AsyncSession, org: OrgAccess, user_id: uuid.UUID
) -> Subject | None:
    """``user_id``'s subject in ``org`` as a request of theirs would see it (None when they
    are not a member)."""
    found = await repository.access_row(session, org.org_id, user_id)
    if found is None or found.organization is None or found.membership is None:
        return None
    return subject_for(found, found.organization, superadmin=found.user.is_superadmin)


def _roles(role: str, custom: CustomRole | None) -> tuple[Role, ...]:
    extra = rules.custom_role_of(custom.name, custom.grants) if custom is not None else None
    return rules.member_roles(role, extra)


async def _audit_override(session: AsyncSession, actor: Actor, org: Organization) -> None:
    await audit_service.record(
        session,
        actor,
        "access.superadmin_override",
        target=Target(type="organization", id=str(org.id), organization_id=org.id),
    )


# ---- compiled policies, cached per process by (organization, access_version) ------------------

_COMPILED: LRUCache[tuple[uuid.UUID, int], PolicySet] = LRUCache(maxsize=4096)


async def _policies(session: AsyncSession, org: Organization) -> PolicySet:
    """Compiled once per change: every policy or custom-role write bumps the organization's
    ``access_version``, so a stale entry is never read again (and ages out of the LRU)."""
    key = (org.id, org.access_version)
    cached = _COMPILED.get(key)
    if cached is not None:
        return cached
    rows = await PolicyRepository(session, AccessibleOrgId(org.id)).enabled()
    compiled = PolicySet.compile(
        rules.policy_of(
            id_=str(p.id),
            name=p.name,
            resource_type=p.resource_type,
            action=p.action,
            effect=p.effect,
            conditions=p.conditions,
        )
        for p in rows
    )
    _COMPILED[key] = compiled
    return compiled


async def bump_access_version(session: AsyncSession, org: Organization) -> None:
    """Call after any change to the organization's policies or custom roles."""
    org.access_version += 1
    await session.flush()
