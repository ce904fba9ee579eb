"""Memberships: list, change role / custom role / team, remove, leave, join.

Every write to ``memberships`` happens in this module (invitations join through
:func:`join`), so whatever must follow a change of someone's access has one place to hook.

The last-admin rule: an organization always keeps an admin. A change that could remove one
first locks the organization's admin rows (``SELECT ... FOR UPDATE`` on PostgreSQL), then
reads the target afresh, so two concurrent demotions queue and the second sees the first.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access import service as access
from keel.access.rules import Resource
from keel.access.schemas import Actor, OrgAccess
from keel.audit import rules as audit_rules
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.events import service as events_service
from keel.kit import tenancy
from keel.kit.errors import PermissionDenied
from keel.kit.schemas import Page, PageParams
from keel.organizations import rules
from keel.organizations.errors import LastAdmin, ObjectNotFound, RoleTooHigh
from keel.organizations.events import MemberJoined, MemberRemoved, MemberRoleChanged
from keel.organizations.models import Membership
from keel.organizations.repository import members as repository
from keel.organizations.repository.members import CustomRoleRefs, MembershipRepository
from keel.organizations.repository.teams import TeamRepository
from keel.organizations.schemas import Contact, MemberRead, MemberUpdate
from keel.plans import service as plans_service
from keel.users.models import User

_AUDITED = ("role", "custom_role_id", "team_id")


async def list_page(
    session: AsyncSession,
    org: OrgAccess,
    page: PageParams,
    *,
    team_id: uuid.UUID | None = None,
) -> Page[MemberRead]:
    """``team_id``: only that team's members (a team's page lists them)."""
    access.ensure(org, "users:read")
    members = MembershipRepository(session, org.org_id)
    window = await members.page(page, team_id=team_id)
    users = await members.users(m.user_id for m in window.items)
    items = [_read(m, users[m.user_id]) for m in window.items if m.user_id in users]
    return Page(items=items, next_cursor=window.next_cursor)


async def get(session: AsyncSession, org: OrgAccess, user_id: uuid.UUID) -> MemberRead:
    """One member (404 when ``user_id`` is not a member here)."""
    members = MembershipRepository(session, org.org_id)
    member = await members.of_user(user_id)
    if member is None:
        raise ObjectNotFound("No member with this user id in this organization.")
    access.ensure(org, "users:read", _resource(org, member))
    return _read(member, (await members.users([user_id]))[user_id])


async def count(session: AsyncSession, org: OrgAccess) -> int:
    return await MembershipRepository(session, org.org_id).count()


async def is_member_email(session: AsyncSession, org: OrgAccess, email: str) -> bool:
    return await MembershipRepository(session, org.org_id).of_email(email) is not None


async def update(
    session: AsyncSession, org: OrgAccess, user_id: uuid.UUID, data: MemberUpdate
) -> MemberRead:
    """``role`` omitted or null keeps the role; ``team_id``/``custom_role_id`` null clears."""
    members = MembershipRepository(session, org.org_id)
    fields = data.model_dump(exclude_unset=True)
    admins = await members.lock_admins() if fields.get("role") is not None else []
    member = await _member(members, user_id)
    access.ensure(org, "users:update", _resource(org, member))
    _ensure_outranks(org, member.role)
    before = _snapshot(member)
    if data.role is not None and data.role != member.role:
        ensure_may_grant(org, data.role)
        _ensure_not_last_admin(member, admins)
        member.role = data.role
    if "team_id" in fields:
        member.team_id = await team_in_org(session, org, data.team_id)
    if "custom_role_id" in fields:
        member.custom_role_id = await _custom_role_of(session, org, data.custom_role_id)
    await _record_change(session, org, member, before)
    return _read(member, (await members.users([member.user_id]))[member.user_id])


async def remove(session: AsyncSession, org: OrgAccess, user_id: uuid.UUID) -> None:
    members = MembershipRepository(session, org.org_id)
    admins = await members.lock_admins()
    member = await _member(members, user_id)
    access.ensure(org, "users:delete", _resource(org, member))
    _ensure_outranks(org, member.role)
    await _delete(session, org, members, member, admins)


async def leave(session: AsyncSession, org: OrgAccess) -> None:
    """The caller leaves (a person only: an API key cannot remove its creator)."""
    if org.actor.kind != "user" or org.actor.user_id is None:
        raise PermissionDenied("Only a person can leave an organization; log in as them.")
    members = MembershipRepository(session, org.org_id)
    admins = await members.lock_admins()
    await _delete(session, org, members, await _member(members, org.actor.user_id), admins)


async def join(
    session: AsyncSession,
    actor: Actor,
    org_id: uuid.UUID,
    *,
    user_id: uuid.UUID,
    role: str,
    team_id: uuid.UUID | None,
    invitation_id: uuid.UUID | None,
) -> Membership:
    """Add a member from an accepted invitation (the caller already checked the token)."""
    member = await repository.add(
        session,
        Membership(organization_id=org_id, user_id=user_id, role=role, team_id=team_id),
    )
    await audit_service.record(
        session,
        actor,
        "member.joined",
        target=_target(member),
        changes=audit_rules.diff({}, {**_snapshot(member), "invitation_id": _plain(invitation_id)}),
    )
    await events_service.publish(
        session,
        MemberJoined(
            organization_id=org_id, user_id=user_id, role=role, invitation_id=invitation_id
        ),
    )
    return member


async def is_member(session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return await repository.is_member(session, org_id, user_id)


async def admin_contacts(session: AsyncSession, organization_id: uuid.UUID) -> list[Contact]:
    """For jobs writing to an organization's admins (webhook disabled, limits, alerts): a
    system read, so it enters the organization's tenant scope itself."""
    await tenancy.enter_tenant(session, organization_id)
    admins = await repository.active_admins(session, organization_id)
    return [Contact(user_id=user.id, email=user.email, name=user.name) for user in admins]


async def clear_team(session: AsyncSession, org: OrgAccess, team_id: uuid.UUID) -> None:
    """Before a team is deleted: its members stay in the organization, teamless."""
    await MembershipRepository(session, org.org_id).clear_team(team_id)


async def team_counts(
    session: AsyncSession, org: OrgAccess, team_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    return await MembershipRepository(session, org.org_id).team_counts(team_ids)


async def team_in_org(
    session: AsyncSession, org: OrgAccess, team_id: uuid.UUID | None
) -> uuid.UUID | None:
    """``team_id`` if it names a team of this organization (404 otherwise)."""
    if team_id is not None and await TeamRepository(session, org.org_id).get(team_id) is None:
        raise ObjectNotFound("No team with this id in this organization.")
    return team_id


def ensure_may_grant(org: OrgAccess, role: str) -> None:
    """Nobody gives a role (by a change or an invitation) above their own."""
    if not rules.may_grant(org.role, role):
        raise RoleTooHigh(f"You cannot give the role {role!r}: it is above your own.")


# ---- helpers ---------------------------------------------------------------------------------


async def _member(members: MembershipRepository, user_id: uuid.UUID) -> Membership:
    member = await members.of_user(user_id, for_update=True)
    if member is None:
        raise ObjectNotFound("No member with this user id in this organization.")
    return member


def _resource(org: OrgAccess, member: Membership) -> Resource:
    return Resource(type="users", organization_id=org.org_id, team_id=member.team_id)


def _ensure_outranks(org: OrgAccess, role: str) -> None:
    """Nobody changes or removes someone whose role is above their own."""
    if not rules.may_grant(org.role, role):
        raise RoleTooHigh(f"This member's role ({role}) is above yours; ask an admin.")


def _ensure_not_last_admin(member: Membership, admins: list[Membership]) -> None:
    if rules.is_admin(member.role) and not any(a.id != member.id for a in admins):
        raise LastAdmin("This is the organization's last admin; make someone else admin first.")


async def _custom_role_of(
    session: AsyncSession, org: OrgAccess, role_id: uuid.UUID | None
) -> uuid.UUID | None:
    if role_id is not None and await CustomRoleRefs(session, org.org_id).get(role_id) is None:
        raise ObjectNotFound("No custom role with this id in this organization.")
    return role_id


async def _record_change(
    session: AsyncSession, org: OrgAccess, member: Membership, before: dict[str, Any]
) -> None:
    changes = audit_rules.diff(before, _snapshot(member))
    if not changes:
        return
    await session.flush()
    await audit_service.record(
        session, org.actor, "member.updated", target=_target(member), changes=changes
    )
    await events_service.publish(
        session,
        MemberRoleChanged(
            organization_id=member.organization_id,
            user_id=member.user_id,
            role=member.role,
            previous_role=before["role"],
            custom_role_id=member.custom_role_id,
            team_id=member.team_id,
        ),
    )


async def _delete(
    session: AsyncSession,
    org: OrgAccess,
    members: MembershipRepository,
    member: Membership,
    admins: list[Membership],
) -> None:
    _ensure_not_last_admin(member, admins)
    await audit_service.record(
        session,
        org.actor,
        "member.removed",
        target=_target(member),
        changes=audit_rules.diff(_snapshot(member), {}),
    )
    await events_service.publish(
        session,
        MemberRemoved(
            organization_id=member.organization_id, user_id=member.user_id, role=member.role
        ),
    )
    await members.delete(member)


def _snapshot(member: Membership) -> dict[str, Any]:
    return {field: _plain(getattr(member, field)) for field in _AUDITED}


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


def _target(member: Membership) -> Target:
    return Target(type="member", id=str(member.user_id), organization_id=member.organization_id)


def _read(member: Membership, user: User) -> MemberRead:
    return MemberRead(
        user_id=member.user_id,
        email=user.email,
        name=user.name,
        role=member.role,
        custom_role_id=member.custom_role_id,
        team_id=member.team_id,
        joined_at=member.joined_at,
    )


plans_service.register_meter("max_users", count)
