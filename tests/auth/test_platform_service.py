"""The platform owner's account actions: disable (sessions end at once, login refused),
enable, reset MFA, end sessions; only as ``staff``, never disabling or resetting oneself."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit.models import AuditLog
from keel.auth.service import mfa, platform, sessions
from keel.config import Settings
from keel.kit import clock
from keel.kit.cache import Cache
from keel.kit.errors import PermissionDenied
from keel.kit.security import KeyRing
from keel.users import service as users_service
from keel.users.models import ACTIVE, DISABLED, User
from tests.helpers.tenancy import PASSWORD, caller_for, make_user


async def staff_of(db: AsyncSession) -> Actor:
    owner = await make_user(db, is_superadmin=True)
    return Actor(kind="staff", id=str(owner.id), on_behalf_of=owner.id)


async def actions_on(db: AsyncSession, target_id: str) -> list[tuple[str, str]]:
    stmt = select(AuditLog.action, AuditLog.actor_kind).where(AuditLog.target_id == target_id)
    return [(a, k) for a, k in (await db.execute(stmt.order_by(AuditLog.id))).all()]


async def test_disable__sessions_end_login_refused_then_enable(
    db: AsyncSession, settings: Settings, cache: Cache
) -> None:
    # Given a user with a live session
    user = await make_user(db)
    live = await caller_for(db, settings, user)
    [session] = await sessions.list_active(db, user.id)
    staff = await staff_of(db)
    # When the platform owner disables the account
    ended = await platform.disable_account(db, staff, user, cache=cache)
    # Then the session is over at once and the password no longer logs in
    assert ended == 1 and user.status == DISABLED
    assert not await sessions.is_live(db, session.id, user_id=user.id, cache=cache)
    assert await users_service.authenticate(db, email=user.email, password=PASSWORD) is None
    assert ("user.disabled", "staff") in await actions_on(db, str(user.id))
    assert ("session.revoked", "staff") in await actions_on(db, str(session.id))
    # When it is enabled again, Then the password works again (the old session stays over)
    await platform.enable_account(db, staff, user)
    assert user.status == ACTIVE
    assert await users_service.authenticate(db, email=user.email, password=PASSWORD) == user
    assert ("user.enabled", "staff") in await actions_on(db, str(user.id))
    assert live.user == user


async def test_reset_mfa__factor_removed_once(db: AsyncSession, settings: Settings) -> None:
    user = await make_user(db)
    keyring = KeyRing.from_settings(settings)
    enrollment = await mfa.start_enrollment(db, Actor.system(), user, keyring=keyring)
    code = pyotp.TOTP(enrollment.secret).at(clock.now() - timedelta(seconds=30))
    await mfa.confirm_enrollment(db, Actor.system(), user, code=code, keyring=keyring)
    staff = await staff_of(db)
    assert await platform.reset_mfa(db, staff, user) is True
    assert not await mfa.is_enabled(db, user.id)
    assert await platform.reset_mfa(db, staff, user) is False
    assert [a for a in await actions_on(db, str(user.id)) if a[0] == "mfa.reset"] == [
        ("mfa.reset", "staff")
    ]


async def test_end_sessions__every_session_revoked(
    db: AsyncSession, settings: Settings, cache: Cache
) -> None:
    user = await make_user(db)
    for _ in range(2):
        await caller_for(db, settings, user)
    assert await platform.end_sessions(db, await staff_of(db), user, cache=cache) == 2
    assert await sessions.list_active(db, user.id) == []


async def test_actions__not_staff_or_on_oneself__refused(db: AsyncSession, cache: Cache) -> None:
    user: User = await make_user(db, is_superadmin=True)
    person = Actor(kind="user", id=str(user.id))
    with pytest.raises(PermissionDenied):
        await platform.disable_account(db, person, await make_user(db), cache=cache)
    with pytest.raises(PermissionDenied):
        await platform.end_sessions(db, person, user, cache=cache)
    staff = Actor(kind="staff", id=str(user.id), on_behalf_of=user.id)
    with pytest.raises(PermissionDenied, match="your own account"):
        await platform.disable_account(db, staff, user, cache=cache)
    with pytest.raises(PermissionDenied, match="security settings"):
        await platform.reset_mfa(db, staff, user)
    assert user.status == ACTIVE
