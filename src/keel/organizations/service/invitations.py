"""Invitations: invite, list, resend, revoke, accept.

A link carries a fresh 256-bit token; the table keeps only its SHA-256, so a leaked table
accepts nothing. An invitation is single-use and valid for :data:`LIFETIME`. Resending
replaces the token (the old link dies); inviting an address that already has an open
invitation resends that one instead of adding a second. Accepting is one conditional
``UPDATE``, so two clicks racing on one link cannot both join.

Accepting is the one cross-tenant step: the accepting user is not a member yet, so the
invitation is found by its token hash with tenant isolation lifted for that lookup alone;
the membership is then written inside the invitation's organization.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access import service as access
from keel.access.schemas import Actor, OrgAccess
from keel.audit import rules as audit_rules
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.config import Settings
from keel.events import service as events_service
from keel.kit import clock, security, tenancy
from keel.kit.errors import Conflict
from keel.kit.schemas import Page, PageParams
from keel.notifications import service as notifications_service
from keel.organizations.errors import (
    AlreadyMember,
    InvitationEmailMismatch,
    InvitationInvalid,
    ObjectNotFound,
)
from keel.organizations.events import InvitationRevoked, MemberInvited
from keel.organizations.models import Invitation
from keel.organizations.repository import invitations as repository
from keel.organizations.repository import organizations as organizations_repository
from keel.organizations.repository.invitations import InvitationRepository
from keel.organizations.schemas import InvitationCreate, InvitationRead
from keel.organizations.service import access as org_access
from keel.organizations.service import members, orgs
from keel.plans import service as plans_service
from keel.users import service as users_service
from keel.users.models import User

LIFETIME = timedelta(days=7)
Status = Literal["pending", "accepted", "revoked", "expired"]
_AUDITED = ("email", "role", "team_id", "sent_at", "expires_at", "revoked_at")


def status_of(invitation: Invitation, now: datetime) -> Status:
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    return "expired" if invitation.expires_at <= now else "pending"


async def invite(
    session: AsyncSession, org: OrgAccess, data: InvitationCreate, *, settings: Settings
) -> InvitationRead:
    access.ensure(org, "users:create")
    email = users_service.valid_email(str(data.email))
    members.ensure_may_grant(org, data.role)
    if await members.is_member_email(session, org, email):
        raise AlreadyMember(f"{email} already belongs to this organization; change their role.")
    await plans_service.ensure_within_limit(
        session, org, "max_users", current=await members.count(session, org)
    )
    await members.team_in_org(session, org, data.team_id)
    invitations = InvitationRepository(session, org.org_id)
    now = clock.now()
    invitation = await invitations.pending_for(email, now=now)
    before = {} if invitation is None else _snapshot(invitation)
    if invitation is None:
        invitation = Invitation(organization_id=org.org_id, email=email, expires_at=now)
    invitation.role, invitation.team_id = data.role, data.team_id
    invitation.invited_by = org.actor.user_id
    token = _renew(invitation, now)
    if not before:
        await invitations.add(invitation)
    await _announce(session, org, invitation, token, before, settings=settings)
    return _read(invitation, now)


async def list_page(
    session: AsyncSession, org: OrgAccess, page: PageParams
) -> Page[InvitationRead]:
    access.ensure(org, "users:create")
    window = await InvitationRepository(session, org.org_id).page(page)
    now = clock.now()
    return Page(items=[_read(i, now) for i in window.items], next_cursor=window.next_cursor)


async def get(session: AsyncSession, org: OrgAccess, invitation_id: uuid.UUID) -> InvitationRead:
    return _read(await _invitation(session, org, invitation_id), clock.now())


async def resend(
    session: AsyncSession, org: OrgAccess, invitation_id: uuid.UUID, *, settings: Settings
) -> InvitationRead:
    """A new token and a new week; the previous link stops working."""
    invitation = await _invitation(session, org, invitation_id)
    members.ensure_may_grant(org, invitation.role)
    _ensure_open(invitation)
    before, now = _snapshot(invitation), clock.now()
    token = _renew(invitation, now)
    await session.flush()
    await _announce(session, org, invitation, token, before, settings=settings)
    return _read(invitation, now)


async def revoke(session: AsyncSession, org: OrgAccess, invitation_id: uuid.UUID) -> None:
    """Idempotent for an invitation already revoked; an accepted one cannot be revoked."""
    invitation = await _invitation(session, org, invitation_id)
    if invitation.revoked_at is not None:
        return
    _ensure_open(invitation)
    before = _snapshot(invitation)
    invitation.revoked_at = clock.now()
    await session.flush()
    await audit_service.record(
        session,
        org.actor,
        "invitation.revoked",
        target=_target(invitation),
        changes=audit_rules.diff(before, _snapshot(invitation)),
    )
    await events_service.publish(
        session, InvitationRevoked(organization_id=org.org_id, invitation_id=invitation.id)
    )


async def accept(session: AsyncSession, actor: Actor, user: User, *, token: str) -> OrgAccess:
    """Join the invitation's organization as ``user``; returns the new member's access."""
    await tenancy.enter_platform(
        session, reason="an invitation is found by its token hash before its tenant is known"
    )
    invitation = await repository.by_token_hash(session, security.token_hash(token))
    await tenancy.leave_platform(session)
    now = clock.now()
    if invitation is None or status_of(invitation, now) != "pending":
        raise InvitationInvalid()
    if invitation.email != user.email:
        raise InvitationEmailMismatch()
    org_id = invitation.organization_id
    await tenancy.enter_tenant(session, org_id, user_id=user.id)
    if await members.is_member(session, org_id, user.id):
        raise AlreadyMember("You already belong to this organization.")
    if not await repository.claim(session, invitation.id, user.id, now=now):
        raise InvitationInvalid()  # another click used it in between
    await members.join(
        session,
        actor,
        org_id,
        user_id=user.id,
        role=invitation.role,
        team_id=invitation.team_id,
        invitation_id=invitation.id,
    )
    joined = await org_access.open_org(session, actor, org_id, writes=True)
    # Checked after joining, with the newcomer counted: a refusal rolls the join back.
    await plans_service.ensure_within_limit(session, joined, "max_users", adding=0)
    return joined


@dataclass(frozen=True, slots=True)
class InvitationPreview:
    """What an invitation link's page may show before anyone signs in."""

    organization_name: str
    role: str
    email: str
    status: Status


async def preview(session: AsyncSession, *, token: str) -> InvitationPreview | None:
    """The organization, role, address and status of the invitation behind ``token``; None
    when no invitation has it. The token is the credential: it was mailed to the invitee, so
    its holder may see what it offers (and why it no longer works) before logging in. A
    read-only lookup: accepting stays :func:`accept`'s alone."""
    await tenancy.enter_platform(
        session, reason="an invitation link names its organization before its tenant is known"
    )
    try:
        invitation = await repository.by_token_hash(session, security.token_hash(token))
        organization = (
            None
            if invitation is None
            else await organizations_repository.get_for_job(session, invitation.organization_id)
        )
    finally:
        await tenancy.leave_platform(session)
    if invitation is None or organization is None:
        return None
    return InvitationPreview(
        organization_name=organization.name,
        role=invitation.role,
        email=invitation.email,
        status=status_of(invitation, clock.now()),
    )


# ---- helpers ---------------------------------------------------------------------------------


def _renew(invitation: Invitation, now: datetime) -> str:
    """A fresh token (only its hash is kept), sent now and valid for :data:`LIFETIME`."""
    token = security.new_token()
    invitation.token_hash = security.token_hash(token)
    invitation.sent_at, invitation.expires_at = now, now + LIFETIME
    return token


async def _announce(
    session: AsyncSession,
    org: OrgAccess,
    invitation: Invitation,
    token: str,
    before: dict[str, Any],
    *,
    settings: Settings,
) -> None:
    await _send(session, org, invitation, token, settings=settings)
    await audit_service.record(
        session,
        org.actor,
        "member.invited",
        target=_target(invitation),
        changes=audit_rules.diff(before, _snapshot(invitation)),
    )
    await events_service.publish(
        session,
        MemberInvited(
            organization_id=org.org_id,
            invitation_id=invitation.id,
            role=invitation.role,
            invited_by=invitation.invited_by,
        ),
    )


async def _send(
    session: AsyncSession, org: OrgAccess, invitation: Invitation, token: str, *, settings: Settings
) -> None:
    organization = await orgs.get(session, org)
    inviter = await _inviter_name(session, org)
    link = (
        f"{settings.http.public_url.rstrip('/')}/invitations/accept?{urlencode({'token': token})}"
    )
    context = {
        "organization": organization.name,
        "inviter": inviter,
        "role": invitation.role,
        "link": link,
        "days": LIFETIME.days,
    }
    await notifications_service.send_email(
        session, to=invitation.email, template="invitation", context=context
    )


async def _inviter_name(session: AsyncSession, org: OrgAccess) -> str:
    user_id = org.actor.user_id
    user = await users_service.get(session, user_id) if user_id is not None else None
    return user.name if user is not None else "An administrator"


async def _invitation(
    session: AsyncSession, org: OrgAccess, invitation_id: uuid.UUID
) -> Invitation:
    invitation = await InvitationRepository(session, org.org_id).get(invitation_id)
    if invitation is None:
        raise ObjectNotFound("No invitation with this id in this organization.")
    access.ensure(org, "users:create")
    return invitation


def _ensure_open(invitation: Invitation) -> None:
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise Conflict(
            "This invitation was already accepted or revoked; send a new invitation instead."
        )


def _snapshot(invitation: Invitation) -> dict[str, Any]:
    values = {field: getattr(invitation, field) for field in _AUDITED}
    return {k: v.isoformat() if isinstance(v, datetime) else _plain(v) for k, v in values.items()}


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


def _target(invitation: Invitation) -> Target:
    return Target(
        type="invitation", id=str(invitation.id), organization_id=invitation.organization_id
    )


def _read(invitation: Invitation, now: datetime) -> InvitationRead:
    return InvitationRead(
        id=invitation.id,
        email=invitation.email,
        role=invitation.role,
        team_id=invitation.team_id,
        status=status_of(invitation, now),
        created_at=invitation.created_at,
        sent_at=invitation.sent_at,
        expires_at=invitation.expires_at,
    )
