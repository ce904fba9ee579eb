"""Builders for the members, teams and invitations tests: invitations with a known token,
and readers of what a request wrote (rows are read with tenant isolation lifted for the
read alone, so the next request still runs under its own tenant)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.audit.models import AuditLog
from keel.events.models import EventRecord
from keel.kit import clock, security, tenancy
from keel.organizations.models import CustomRole, Invitation, Membership, Organization, Team
from keel.users.models import User

T = TypeVar("T")


async def make_invitation(
    db: AsyncSession,
    org: Organization,
    *,
    email: str | None = None,
    role: str = "member",
    team: Team | None = None,
    invited_by: User | None = None,
    expires_at: datetime | None = None,
    **fields: Any,
) -> tuple[Invitation, str]:
    """An invitation written straight to the table, and the token of its link."""
    token = security.new_token()
    await tenancy.enter_tenant(db, org.id)
    invitation = Invitation(
        organization_id=org.id,
        email=email or f"invitee-{uuid.uuid4().hex[:8]}@example.com",
        role=role,
        team_id=team.id if team else None,
        token_hash=security.token_hash(token),
        invited_by=invited_by.id if invited_by else None,
        expires_at=expires_at or clock.now() + timedelta(days=7),
        **fields,
    )
    db.add(invitation)
    await db.flush()
    return invitation, token


async def fresh(db: AsyncSession, stmt: Select[T]) -> list[T]:
    """Rows as they are now, whatever tenant wrote them (and whatever the identity map holds)."""
    await tenancy.enter_platform(db, reason="tests read what a request wrote")
    try:
        rows: list[T] = list(
            (await db.scalars(stmt.execution_options(populate_existing=True))).all()
        )
        return rows
    finally:
        await tenancy.leave_platform(db)


async def membership(db: AsyncSession, org: Organization, user: User) -> Membership | None:
    rows = await fresh(
        db,
        select(Membership).where(
            Membership.organization_id == org.id, Membership.user_id == user.id
        ),
    )
    return rows[0] if rows else None


async def invitations_of(db: AsyncSession, org: Organization) -> list[Invitation]:
    stmt = select(Invitation).where(Invitation.organization_id == org.id)
    return await fresh(db, stmt.order_by(Invitation.created_at))


async def audit_actions(db: AsyncSession, org: Organization) -> list[str]:
    stmt = select(AuditLog).where(AuditLog.organization_id == org.id).order_by(AuditLog.id)
    return [entry.action for entry in await fresh(db, stmt)]


async def audit_entry(db: AsyncSession, org: Organization, action: str) -> AuditLog:
    stmt = select(AuditLog).where(AuditLog.organization_id == org.id, AuditLog.action == action)
    entries = await fresh(db, stmt.order_by(AuditLog.id))
    assert entries, f"no {action} audit entry"
    return entries[-1]


async def event_payloads(db: AsyncSession, org: Organization, name: str) -> list[dict[str, Any]]:
    stmt = select(EventRecord).where(
        EventRecord.organization_id == org.id, EventRecord.name == name
    )
    return [e.payload for e in await fresh(db, stmt.order_by(EventRecord.id))]


async def grant_custom_role(
    db: AsyncSession, org: Organization, member: Membership, *grants: str
) -> CustomRole:
    """Give ``member`` a custom role holding each ``permission`` organization-wide."""
    await tenancy.enter_tenant(db, org.id)
    role = CustomRole(
        organization_id=org.id,
        name=f"Role {uuid.uuid4().hex[:6]}",
        grants=[{"permission": p, "scope": "organization"} for p in grants],
    )
    db.add(role)
    await db.flush()
    member.custom_role_id = role.id
    await db.flush()
    return role
