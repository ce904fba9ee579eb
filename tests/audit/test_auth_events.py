"""Every authentication event leaves its own audit entry, refusals included (they commit
their trace even though the request fails): login ok and failed, lockout, MFA ok and failed,
logout, refresh-token reuse, password change and reset, email change, session revoked."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit.models import AuditLog
from keel.auth.models import AuthSession
from keel.auth.service import action_tokens, mfa
from keel.config import Settings
from keel.kit import clock
from keel.kit.security import KeyRing
from keel.users.models import User
from tests.helpers.tenancy import PASSWORD, caller_for, make_user

LOGIN = "/api/v1/auth/login"


async def login(client: httpx.AsyncClient, user: User, password: str = PASSWORD) -> httpx.Response:
    return await client.post(LOGIN, json={"email": user.email, "password": password})


async def actions_for(db: AsyncSession, user: User) -> list[str]:
    """Every action recorded about the user or one of their sessions, oldest first."""
    sessions = select(AuthSession.id).where(AuthSession.user_id == user.id)
    targets = [str(user.id), *(str(s) for s in await db.scalars(sessions))]
    stmt = select(AuditLog.action).where(AuditLog.target_id.in_(targets)).order_by(AuditLog.seq)
    return list(await db.scalars(stmt))


Flow = Callable[[httpx.AsyncClient, AsyncSession, Settings, User], Awaitable[None]]


async def login_ok(client: httpx.AsyncClient, db: AsyncSession, s: Settings, user: User) -> None:
    assert (await login(client, user)).status_code == 200


async def login_failed(c: httpx.AsyncClient, db: AsyncSession, s: Settings, user: User) -> None:
    assert (await login(c, user, "wrong password entirely")).status_code == 401


async def lockout(c: httpx.AsyncClient, db: AsyncSession, s: Settings, user: User) -> None:
    for _ in range(s.auth.lockout_threshold):
        await login(c, user, "wrong password entirely")


async def _mfa_challenge(c: httpx.AsyncClient, db: AsyncSession, s: Settings, user: User) -> str:
    keyring = KeyRing.from_settings(s)
    enrollment = await mfa.start_enrollment(db, Actor.system(), user, keyring=keyring)
    code = pyotp.TOTP(enrollment.secret).at(clock.now() - timedelta(seconds=30))
    await mfa.confirm_enrollment(db, Actor.system(), user, code=code, keyring=keyring)
    challenge = (await login(c, user)).json()
    token: str = challenge["mfa_token"]
    c.cookies.set("totp", enrollment.secret)  # handed to the next step of the flow
    return token


async def mfa_ok(c: httpx.AsyncClient, db: AsyncSession, s: Settings, user: User) -> None:
    token = await _mfa_challenge(c, db, s, user)
    code = pyotp.TOTP(c.cookies["totp"]).now()
    response = await c.post("/api/v1/auth/mfa/verify", json={"mfa_token": token, "code": code})
    assert response.status_code == 200, response.text


async def mfa_failed(c: httpx.AsyncClient, db: AsyncSession, s: Settings, user: User) -> None:
    token = await _mfa_challenge(c, db, s, user)
    response = await c.post("/api/v1/auth/mfa/verify", json={"mfa_token": token, "code": "000000"})
    assert response.status_code == 401


async def logout(c: httpx.AsyncClient, db: AsyncSession, s: Settings, user: User) -> None:
    tokens = (await login(c, user)).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await c.post("/api/v1/auth/logout", headers=headers)).status_code == 204


async def refresh_reuse(c: httpx.AsyncClient, db: AsyncSession, s: Settings, user: User) -> None:
    first = (await login(c, user)).json()["refresh_token"]
    assert (await c.post("/api/v1/auth/refresh", json={"refresh_token": first})).status_code == 200
    replay = await c.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert replay.status_code == 401


async def password_change(c: httpx.AsyncClient, db: AsyncSession, s: Settings, user: User) -> None:
    caller = await caller_for(db, s, user)
    body = {"current_password": PASSWORD, "new_password": PASSWORD + " again"}
    response = await c.post("/api/v1/me/password", json=body, headers=caller.headers)
    assert response.status_code < 300, response.text


async def password_reset(c: httpx.AsyncClient, db: AsyncSession, s: Settings, user: User) -> None:
    token = await action_tokens.issue(db, user.id, "reset_password", timedelta(hours=1))
    body = {"token": token, "password": PASSWORD + " again"}
    assert (await c.post("/api/v1/auth/password/reset", json=body)).status_code < 300


async def email_change(c: httpx.AsyncClient, db: AsyncSession, s: Settings, user: User) -> None:
    caller = await caller_for(db, s, user)
    body = {"password": PASSWORD, "new_email": f"moved-{uuid.uuid4().hex[:8]}@example.com"}
    assert (await c.post("/api/v1/me/email", json=body, headers=caller.headers)).status_code < 300
    token = await action_tokens.issue(
        db, user.id, "change_email", timedelta(hours=1), data={"new_email": body["new_email"]}
    )
    assert (await c.post("/api/v1/auth/email/confirm", json={"token": token})).status_code < 300


async def session_revoked(c: httpx.AsyncClient, db: AsyncSession, s: Settings, user: User) -> None:
    caller = await caller_for(db, s, user)
    other = AuthSession(user_id=user.id, expires_at=clock.now() + timedelta(days=1))
    db.add(other)
    await db.flush()
    response = await c.delete(f"/api/v1/me/sessions/{other.id}", headers=caller.headers)
    assert response.status_code == 204, response.text


@pytest.mark.parametrize(
    ("flow", "expected"),
    [
        (login_ok, ["auth.login_succeeded", "session.started"]),
        (login_failed, ["auth.login_failed"]),
        (lockout, ["auth.account_locked"]),
        (mfa_ok, ["auth.mfa_challenged", "session.started"]),
        (mfa_failed, ["auth.mfa_challenged", "auth.mfa_failed"]),
        (logout, ["session.revoked"]),
        (refresh_reuse, ["session.refresh_reused"]),
        (password_change, ["user.password_changed"]),
        (password_reset, ["user.password_reset"]),
        (email_change, ["user.email_change_requested", "user.email_changed"]),
        (session_revoked, ["session.revoked"]),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
async def test_auth_event__happens__its_audit_entry_recorded(
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    flow: Flow,
    expected: list[str],
) -> None:
    # Given a user (and no grace for a refresh token replayed at once: it is a reuse)
    user = await make_user(db)
    monkeypatch.setattr(settings.auth, "refresh_reuse_grace_seconds", 0)
    # When the authentication event happens over HTTP
    await flow(client, db, settings, user)
    # Then each expected action was recorded about the user (or their session)
    recorded = await actions_for(db, user)
    missing = [action for action in expected if action not in recorded]
    assert not missing, f"{missing} not in {recorded}"
