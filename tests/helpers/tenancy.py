"""Builders for tenant tests: users with ready access tokens, organizations, members.

Fast on purpose: users are written with a precomputed password hash and tokens are minted
directly (a session row + a signed JWT), so a cross-tenant matrix of hundreds of requests
does not pay for argon2 or the login endpoint.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pyotp
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor, OrgAccess
from keel.auth.models import AuthSession
from keel.auth.service import mfa, tokens
from keel.config import Settings
from keel.kit import clock, security, tenancy
from keel.kit.ids import new_id
from keel.kit.security import KeyRing
from keel.organizations.models import Membership, Organization, Team
from keel.organizations.schemas import OrganizationCreate
from keel.organizations.service import access as org_access
from keel.organizations.service import orgs
from keel.users import rules as user_rules
from keel.users.models import User

PASSWORD = "correct horse battery staple"
_HASH: dict[str, str] = {}


@dataclass(frozen=True)
class Caller:
    """A user with a bearer token: ``client.get(url, headers=caller.headers)``."""

    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def actor(self) -> Actor:
        return Actor(kind="user", id=str(self.user.id))


async def make_user(
    db: AsyncSession,
    *,
    email: str | None = None,
    name: str = "Test User",
    verified: bool = True,
    **overrides: Any,
) -> User:
    if "hash" not in _HASH:
        _HASH["hash"] = await security.hash_password(user_rules.normalize_password(PASSWORD))
    user = User(
        email=email or f"u-{uuid.uuid4().hex[:10]}@example.com",
        name=name,
        password_hash=_HASH["hash"],
        email_verified_at=clock.now() if verified else None,
        **overrides,
    )
    db.add(user)
    await db.flush()
    return user


async def caller_for(db: AsyncSession, settings: Settings, user: User) -> Caller:
    """A live session for ``user`` and an access token for it (no login round trip)."""
    session = AuthSession(
        user_id=user.id, expires_at=clock.now() + timedelta(days=1), ip="192.0.2.1"
    )
    db.add(session)
    await db.flush()
    token = tokens.issue_access_token(settings, user_id=user.id, session_id=session.id)
    return Caller(user, token)


async def make_caller(db: AsyncSession, settings: Settings, **user_fields: Any) -> Caller:
    return await caller_for(db, settings, await make_user(db, **user_fields))


async def make_org(
    db: AsyncSession,
    owner: User,
    *,
    name: str | None = None,
    plan: str | None = None,
    **fields: Any,
) -> Organization:
    """An organization created through the service (owner becomes admin, audited); ``plan``
    puts it on another plan than ``free`` straight away."""
    data = OrganizationCreate(name=name or f"Org {uuid.uuid4().hex[:6]}", **fields)
    org = await orgs.create(db, Actor(kind="user", id=str(owner.id)), owner, data)
    if plan is not None:
        org.plan = plan
        await db.flush()
    return org


async def add_member(
    db: AsyncSession,
    org: Organization,
    user: User,
    *,
    role: str = "member",
    team: Team | None = None,
) -> Membership:
    """A membership written straight to the table, for tests that need one to exist."""
    await tenancy.enter_tenant(db, org.id)
    membership = Membership(
        id=new_id(),
        organization_id=org.id,
        user_id=user.id,
        role=role,
        team_id=team.id if team else None,
    )
    db.add(membership)
    await db.flush()
    return membership


async def make_team(db: AsyncSession, org: Organization, *, name: str | None = None) -> Team:
    await tenancy.enter_tenant(db, org.id)
    team = Team(organization_id=org.id, name=name or f"Team {uuid.uuid4().hex[:6]}")
    db.add(team)
    await db.flush()
    return team


async def access_for(db: AsyncSession, user: User, org: Organization) -> OrgAccess:
    """The user's proof of access to ``org``, as a request would get it."""
    return await org_access.open_org(db, Actor(kind="user", id=str(user.id)), org.id)


async def make_platform_owner(db: AsyncSession, settings: Settings) -> Caller:
    """A superadmin with TOTP confirmed (the platform owner must have MFA on) and a token."""
    owner = await make_user(db, name="Platform Owner", is_superadmin=True)
    keyring = KeyRing.from_settings(settings)
    enrollment = await mfa.start_enrollment(db, Actor.system(), owner, keyring=keyring)
    code = pyotp.TOTP(enrollment.secret).at(clock.now() - timedelta(seconds=30))
    await mfa.confirm_enrollment(db, Actor.system(), owner, code=code, keyring=keyring)
    return await caller_for(db, settings, owner)
