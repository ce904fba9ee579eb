"""``open_org``: the one place an :class:`~keel.access.schemas.OrgAccess` is made.

Order matters (GUIDE §3.3): first prove the organization exists *for this caller* (member,
the platform superadmin, or an API key of that very organization) and answer 404 otherwise,
so a 403 can never reveal another tenant's object; only then do routes check permissions.
The same call sets the transaction's tenant for PostgreSQL row-level security.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from cachetools import LRUCache
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.rules import Environment, PolicySet, Role, Subject
from keel.access.schemas import AccessibleOrgId, Actor, OrgAccess
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.kit import clock, near_cache, tenancy
from keel.organizations import rules
from keel.organizations.errors import OrganizationNotFound, OrganizationSuspended
from keel.organizations.models import SUSPENDED, CustomRole, Membership, Organization
from keel.organizations.repository import organizations as repository
from keel.organizations.repository.organizations import AccessRow
from keel.organizations.repository.policies import PolicyRepository
from keel.users.models import ACTIVE, User
from keel.users.service import user_tag


@dataclass(frozen=True, slots=True)
class Standing:
    """A user's standing in one organization as :func:`open_org` needs it: plain values (no
    ORM instance), so one copy serves every request of that member from the near cache
    until a watched row changes (see the ``watch`` calls at the end of this module)."""

    user_id: uuid.UUID
    user_active: bool
    is_superadmin: bool
    attributes: Mapping[str, Any]
    org_id: uuid.UUID | None
    org_status: str | None
    plan: str
    access_version: int
    #: The built-in role and the roles it grants (None/empty when not a member).
    role: str | None
    roles: tuple[Role, ...]
    team_id: uuid.UUID | None
    joined_at: datetime | None

    @classmethod
    def of(cls, found: AccessRow) -> Standing:
        org, membership, user = found.organization, found.membership, found.user
        return cls(
            user_id=user.id,
            user_active=user.status == ACTIVE,
            is_superadmin=user.is_superadmin,
            attributes=MappingProxyType(dict(user.attributes or {})),
            org_id=org.id if org else None,
            org_status=org.status if org else None,
            plan=org.plan if org else "",
            access_version=org.access_version if org else 0,
            role=membership.role if membership else None,
            roles=_roles(membership.role, found.custom_role) if membership else (),
            team_id=membership.team_id if membership else None,
            joined_at=membership.joined_at if membership else None,
        )


async def open_org(
    session: AsyncSession, actor: Actor, org_id: uuid.UUID, *, writes: bool = False
) -> OrgAccess:
    """The caller's standing in ``org_id``; ``writes`` when the request may change data (a
    superadmin's override of tenancy is then audited)."""
    user_id = actor.user_id
    if user_id is None or (actor.kind == "api_key" and actor.organization_id != org_id):
        raise OrganizationNotFound()
    await tenancy.enter_tenant(session, org_id, user_id=user_id)
    found = await standing(session, org_id, user_id)
    if found is None or found.org_id is None or not found.user_active:
        raise OrganizationNotFound()
    # The platform owner in person ("user") or acting as the platform ("staff", made only by
    # the superadmin-with-MFA guards): a superadmin's API key is never one.
    superadmin = found.is_superadmin and actor.kind in ("user", "staff")
    if found.role is None and not superadmin:
        raise OrganizationNotFound()
    if found.org_status == SUSPENDED and not superadmin:
        raise OrganizationSuspended()
    access = OrgAccess(
        org_id=AccessibleOrgId(found.org_id),
        actor=actor,
        subject=subject_for(found, superadmin=superadmin),
        policies=await _policies(session, found.org_id, found.access_version),
        role=found.role,
        plan=found.plan,
        member_since=found.joined_at,
        environment=Environment(ip=actor.ip, now=clock.now()),
    )
    if found.role is None and writes:
        await _audit_override(session, actor, found.org_id)
    return access


async def standing(session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID) -> Standing | None:
    """From the near cache; on a miss, one joined query. Call after ``enter_tenant``: the
    query runs under row-level security like any other."""

    async def load() -> Standing | None:
        found = await repository.access_row(session, org_id, user_id)
        return None if found is None else Standing.of(found)

    key = ("standing", org_id, user_id)
    return await near_cache.read_through(session, key, _tags(org_id, user_id), load)


def _tags(org_id: uuid.UUID, user_id: uuid.UUID) -> tuple[str, ...]:
    return (f"org:{org_id}", user_tag(user_id), f"member:{org_id}:{user_id}", *_TABLE_TAGS)


def subject_for(found: Standing, *, superadmin: bool) -> Subject:
    """How the user of ``found`` stands in its organization: the one builder of a member's
    subject, for ``open_org`` and for the explain endpoint alike."""
    return Subject(
        user_id=found.user_id,
        organization_id=found.org_id,
        roles=found.roles,
        team_ids=frozenset([found.team_id] if found.team_id else []),
        is_superadmin=superadmin,
        attributes=found.attributes,
    )


async def member_subject(
    session: AsyncSession, org: OrgAccess, user_id: uuid.UUID
) -> Subject | None:
    """``user_id``'s subject in ``org`` as a request of theirs would see it (None when they
    are not a member)."""
    found = await standing(session, org.org_id, user_id)
    if found is None or found.org_id is None or found.role is None:
        return None
    return subject_for(found, superadmin=found.is_superadmin)


def _roles(role: str, custom: CustomRole | None) -> tuple[Role, ...]:
    extra = rules.custom_role_of(custom.name, custom.grants) if custom is not None else None
    return rules.member_roles(role, extra)


async def _audit_override(session: AsyncSession, actor: Actor, org_id: uuid.UUID) -> None:
    await audit_service.record(
        session,
        actor,
        "access.superadmin_override",
        target=Target(type="organization", id=str(org_id), organization_id=org_id),
    )


# ---- compiled policies, cached per process by (organization, access_version) ------------------

_COMPILED: LRUCache[tuple[uuid.UUID, int], PolicySet] = LRUCache(maxsize=4096)


async def _policies(session: AsyncSession, org_id: uuid.UUID, access_version: int) -> PolicySet:
    """Compiled once per change: every policy or custom-role write bumps the organization's
    ``access_version``, so a stale entry is never read again (and ages out of the LRU)."""
    key = (org_id, access_version)
    cached = _COMPILED.get(key)
    if cached is not None:
        return cached
    rows = await PolicyRepository(session, AccessibleOrgId(org_id)).enabled()
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


# ---- what invalidates a cached Standing -------------------------------------------------------

near_cache.watch(Organization, lambda org: (f"org:{org.id}",))
near_cache.watch(CustomRole, lambda role: (f"org:{role.organization_id}",))
near_cache.watch(Membership, lambda m: (f"member:{m.organization_id}:{m.user_id}",))
_TABLE_TAGS = tuple(near_cache.table_tag(m) for m in (Organization, CustomRole, Membership, User))
