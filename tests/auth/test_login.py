"""Login, refresh rotation and reuse, logout, and ``GET /api/v1/me`` over HTTP."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from keel.audit.models import AuditLog
from keel.auth.models import AuthSession, RefreshToken, TotpFactor
from keel.auth.service import throttle, tokens
from keel.auth.service.sessions import state_key
from keel.config import Settings
from keel.events.models import EventRecord
from keel.kit import clock
from keel.kit.cache import Cache
from keel.kit.jobs.models import Job
from keel.users.models import DISABLED
from tests.auth.helpers_tokens import PASSWORD, bearer, create_user, logged_in, login
from tests.kit.test_http import assert_problem


@pytest.fixture(autouse=True)
def no_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    async def instant(_seconds: float) -> None:
        return None

    monkeypatch.setattr(throttle, "pause", instant)


async def actions(db: AsyncSession) -> list[str]:
    return list((await db.scalars(select(AuditLog.action).order_by(AuditLog.occurred_at))).all())


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def test_login__right_password__token_pair_and_me(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a user
    user = await create_user(db)
    # When they log in (email in another case) and call GET /me
    response = await login(client, email="Grace@Example.COM")
    # Then the answer is the CONTRACT's token pair
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.auth.access_token_minutes * 60
    assert tokens.read_access_token(settings, body["access_token"]).user_id == user.id
    me = await client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json() == {
        "id": str(user.id),
        "email": "grace@example.com",
        "name": "Grace Hopper",
        "email_verified": False,
        "mfa_enabled": False,
        "organizations": [],
    }
    # And the session and the login are recorded, with where they came from
    stored = (await db.scalars(select(AuthSession))).one()
    assert stored.user_id == user.id and stored.ip == "198.51.100.1"
    assert {"session.started", "auth.login_succeeded"} <= set(await actions(db))


async def test_login__confirmed_totp__mfa_required_without_session(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a user with a confirmed TOTP factor
    user = await create_user(db)
    db.add(TotpFactor(user_id=user.id, secret_encrypted=b"x", confirmed_at=clock.now()))
    await db.commit()
    # When they log in with the right password
    body = await logged_in(client)
    # Then they get a short-lived MFA token, not a session
    assert body["status"] == "mfa_required" and set(body) == {"status", "mfa_token"}
    assert tokens.read_mfa_token(settings, body["mfa_token"])[0] == user.id
    assert (await db.scalars(select(AuthSession))).first() is None
    # And the MFA token opens nothing
    me = await client.get("/api/v1/me", headers=bearer(body["mfa_token"]))
    assert_problem(me, 401, "not_authenticated")


async def test_login__wrong_password__401_audited_without_password(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await create_user(db)
    response = await login(client, password="not the password at all")
    assert_problem(response, 401, "invalid_credentials")
    entry = (await db.scalars(select(AuditLog).where(AuditLog.action == "auth.login_failed"))).one()
    assert entry.context == {"reason": "wrong_password", "failures": 1}
    assert "not the password" not in str(entry.context)


async def test_login__disabled_user__401_invalid_credentials(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await create_user(db)
    user.status = DISABLED
    await db.commit()
    assert_problem(await login(client), 401, "invalid_credentials")


async def test_refresh__rotated_three_times_then_first_replayed__family_revoked(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a session whose refresh token was rotated three times (grace window passed)
    await create_user(db)
    first = await logged_in(client)
    current = first
    for _ in range(3):
        response = await refresh(client, current["refresh_token"])
        assert response.status_code == 200, response.text
        assert response.json()["refresh_token"] != current["refresh_token"]
        current = response.json()
    await _age_rotations(db, settings)
    # When the first refresh token is replayed
    replay = await refresh(client, first["refresh_token"])
    # Then it is refused, and the whole family ends: the latest refresh and access tokens too
    assert_problem(replay, 401, "refresh_token_invalid")
    assert_problem(await refresh(client, current["refresh_token"]), 401, "refresh_token_invalid")
    me = await client.get("/api/v1/me", headers=bearer(current["access_token"]))
    assert_problem(me, 401, "not_authenticated")
    # And the reuse is audited and raised as a security alert
    stored = (await db.scalars(select(AuthSession))).one()
    assert stored.revoked_reason == "refresh_token_reused"
    assert "session.refresh_reused" in await actions(db)
    alerts = (
        await db.scalars(select(EventRecord).where(EventRecord.name == "security.alert"))
    ).all()
    assert [a.payload["kind"] for a in alerts] == ["refresh_token_reused"]


async def _age_rotations(db: AsyncSession, settings: Settings) -> None:
    past = clock.now() - timedelta(seconds=settings.auth.refresh_reuse_grace_seconds + 1)
    await db.execute(
        update(RefreshToken).where(RefreshToken.rotated_at.is_not(None)).values(rotated_at=past)
    )
    await db.commit()


async def test_refresh__replay_within_grace__refused_but_session_kept(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a refresh token rotated a moment ago (a client racing itself)
    await create_user(db)
    first = await logged_in(client)
    second = (await refresh(client, first["refresh_token"])).json()
    # When the old one arrives again inside the grace window
    assert_problem(await refresh(client, first["refresh_token"]), 401, "refresh_token_invalid")
    # Then the session lives on with the newer token
    assert (await refresh(client, second["refresh_token"])).status_code == 200
    assert (await db.scalars(select(AuthSession))).one().revoked_at is None


@pytest.mark.parametrize("token", ["unknown-token", "x" * 43])
async def test_refresh__unknown_token__401(client: httpx.AsyncClient, token: str) -> None:
    assert_problem(await refresh(client, token), 401, "refresh_token_invalid")


async def test_logout__then_old_tokens__401_at_once(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a logged-in client whose session state is already cached as live
    await create_user(db)
    pair = await logged_in(client)
    assert (await client.get("/api/v1/me", headers=bearer(pair["access_token"]))).status_code == 200
    # When it logs out
    response = await client.post("/api/v1/auth/logout", headers=bearer(pair["access_token"]))
    # Then the access token and the refresh token stop working immediately
    assert response.status_code == 204
    me = await client.get("/api/v1/me", headers=bearer(pair["access_token"]))
    assert_problem(me, 401, "not_authenticated")
    assert_problem(await refresh(client, pair["refresh_token"]), 401, "refresh_token_invalid")
    assert "session.revoked" in await actions(db)


async def test_logout__anonymous__401(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/api/v1/auth/logout"), 401, "not_authenticated")


async def test_access_token__session_state_lost_from_cache__db_decides(
    client: httpx.AsyncClient, db: AsyncSession, cache: Cache, settings: Settings
) -> None:
    # Given two sessions: one revoked straight in the table, and no cached state for either
    await create_user(db)
    live, revoked = await logged_in(client), await logged_in(client)
    revoked_id = tokens.read_access_token(settings, revoked["access_token"]).session_id
    await db.execute(
        update(AuthSession)
        .where(AuthSession.id == revoked_id)
        .values(revoked_at=clock.now(), revoked_reason="test")
    )
    await db.commit()
    for pair in (live, revoked):
        await cache.delete(
            state_key(tokens.read_access_token(settings, pair["access_token"]).session_id)
        )
    # Then the database decides: the live one passes, the revoked one is refused
    assert (await client.get("/api/v1/me", headers=bearer(live["access_token"]))).status_code == 200
    me = await client.get("/api/v1/me", headers=bearer(revoked["access_token"]))
    assert_problem(me, 401, "not_authenticated")


async def test_access_token__user_disabled_after_login__401(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a logged-in user
    user = await create_user(db)
    pair = await logged_in(client)
    # When the account is disabled
    user.status = DISABLED
    await db.commit()
    # Then their access and refresh tokens are refused
    me = await client.get("/api/v1/me", headers=bearer(pair["access_token"]))
    assert_problem(me, 401, "not_authenticated")
    assert_problem(await refresh(client, pair["refresh_token"]), 401, "refresh_token_invalid")


async def test_login__bad_body__422(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/login", json={"email": "a@b.c"})
    assert_problem(response, 422, "validation_error")


async def test_login__new_device__user_mailed_once(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a user who logged in before from one browser
    await create_user(db)
    await logged_in(client)
    await logged_in(client)
    assert await new_sign_in_mails(db) == []
    # When a login comes from another user agent
    other = await client.post(
        "/api/v1/auth/login",
        json={"email": "grace@example.com", "password": PASSWORD},
        headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"},
    )
    assert other.status_code == 200, other.text
    # Then the user is told, naming the device
    [mail] = await new_sign_in_mails(db)
    assert mail.payload["to"] == "grace@example.com"
    assert "Firefox" in mail.payload["context"]["device"]


async def new_sign_in_mails(db: AsyncSession) -> list[Job]:
    jobs = await db.scalars(select(Job).where(Job.name == "notifications.send_email"))
    return [j for j in jobs if j.payload["template"] == "new_sign_in"]
