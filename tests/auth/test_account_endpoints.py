"""The account over HTTP: the seed's whole sign-up journey, profile, password, email change,
deletion, and MFA from enrollment to the second login step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pyotp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.audit.models import AuditLog
from keel.auth.models import AuthSession
from keel.config import Settings
from keel.kit import clock
from keel.kit.deps import Resources
from tests.auth.conftest import deliver_mail, link_token
from tests.auth.helpers_tokens import PASSWORD, bearer, create_user, logged_in, login
from tests.kit.test_http import assert_problem
from tests.notifications.mailserver import smtp_server

ME = "/api/v1/me"


async def test_seed_flow__register_verify_login_me(
    client: httpx.AsyncClient, resources: Resources, settings: Settings
) -> None:
    # Given a sign-up whose verification mail goes through a real SMTP server
    with smtp_server() as inbox:
        registered = await client.post(
            "/api/v1/auth/register",
            json={"email": "ada@example.com", "password": PASSWORD, "name": "Ada Lovelace"},
        )
        assert registered.status_code == 201, registered.text
        await deliver_mail(resources, settings, inbox)
    message = inbox.titled("Confirm your email address")
    # When the link is followed, then the user logs in and reads /me
    verified = await client.post("/api/v1/auth/verify-email", json={"token": link_token(message)})
    assert verified.status_code == 200, verified.text
    tokens = await logged_in(client, email="ada@example.com")
    me = await client.get(ME, headers=bearer(tokens["access_token"]))
    # Then /me is the contract's shape, listing the personal organization made at sign-up
    assert me.status_code == 200, me.text
    [personal] = me.json()["organizations"]
    assert personal == {
        "id": personal["id"],
        "name": "Ada Lovelace's organization",
        "role": "admin",
    }
    assert me.json() == {
        "id": registered.json()["id"],
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "email_verified": True,
        "mfa_enabled": False,
        "organizations": [personal],
    }


async def test_me__anonymous__401(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("PATCH", ME),
        ("DELETE", ME),
        ("POST", f"{ME}/password"),
        ("POST", f"{ME}/mfa/totp"),
    ]:
        response = await client.request(method, path, json={})
        assert_problem(response, 401, "not_authenticated")


async def test_patch_me__name__updated_and_audited(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await create_user(db)
    tokens = await logged_in(client)
    response = await client.patch(
        ME, json={"name": "Grace B. Hopper"}, headers=bearer(tokens["access_token"])
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Grace B. Hopper"
    entry = await db.scalar(select(AuditLog).where(AuditLog.action == "user.updated"))
    assert entry is not None and entry.changes is not None
    assert entry.changes["name"] == {"before": "Grace Hopper", "after": "Grace B. Hopper"}


async def test_patch_me__own_attributes__422_and_unchanged(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a user: attributes feed ABAC policies and flag rules (department, clearance...)
    user = await create_user(db)
    tokens = await logged_in(client)
    # When they try to give themselves an attribute
    response = await client.patch(
        ME,
        json={"name": "Grace", "attributes": {"department": "engineering"}},
        headers=bearer(tokens["access_token"]),
    )
    # Then it is refused, and nothing changed
    assert_problem(response, 422, "validation_error")
    await db.refresh(user)
    assert user.attributes in ({}, None) and user.name == "Grace Hopper"


async def test_patch_me__bad_input__422(client: httpx.AsyncClient, db: AsyncSession) -> None:
    await create_user(db)
    tokens = await logged_in(client)
    response = await client.patch(ME, json={"name": ""}, headers=bearer(tokens["access_token"]))
    assert_problem(response, 422, "validation_error")


async def test_change_password__wrong_current__refused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await create_user(db)
    tokens = await logged_in(client)
    response = await client.post(
        f"{ME}/password",
        json={
            "current_password": "not my password at all",
            "new_password": "a brand new secret 99",
        },
        headers=bearer(tokens["access_token"]),
    )
    assert_problem(response, 400, "incorrect_password")


async def test_change_password__ends_other_sessions_keeps_this_one(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given two sessions of one user
    await create_user(db)
    other = await logged_in(client)
    this = await logged_in(client)
    # When the password is changed from one of them
    response = await client.post(
        f"{ME}/password",
        json={"current_password": PASSWORD, "new_password": "a brand new secret 99"},
        headers=bearer(this["access_token"]),
    )
    assert response.status_code == 204, response.text
    # Then the other session's token stops working, this one goes on
    assert (await client.get(ME, headers=bearer(other["access_token"]))).status_code == 401
    assert (await client.get(ME, headers=bearer(this["access_token"]))).status_code == 200
    # And only the new password logs in
    assert (await login(client)).status_code == 401
    assert (await login(client, password="a brand new secret 99")).status_code == 200


async def test_request_email_change__needs_password__202_and_mail_queued(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await create_user(db)
    tokens = await logged_in(client)
    wrong = await client.post(
        f"{ME}/email",
        json={"password": "wrong password here", "new_email": "g@new.example"},
        headers=bearer(tokens["access_token"]),
    )
    assert_problem(wrong, 400, "incorrect_password")
    ok = await client.post(
        f"{ME}/email",
        json={"password": PASSWORD, "new_email": "g@new.example"},
        headers=bearer(tokens["access_token"]),
    )
    assert ok.status_code == 202, ok.text


async def test_delete_me__disables_ends_sessions_and_blocks_login(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await create_user(db)
    tokens = await logged_in(client)
    wrong = await client.request(
        "DELETE", ME, json={"password": "not the password!"}, headers=bearer(tokens["access_token"])
    )
    assert_problem(wrong, 400, "incorrect_password")
    response = await client.request(
        "DELETE", ME, json={"password": PASSWORD}, headers=bearer(tokens["access_token"])
    )
    assert response.status_code == 204, response.text
    assert (await client.get(ME, headers=bearer(tokens["access_token"]))).status_code == 401
    assert (await login(client)).status_code == 401
    live = await db.scalars(
        select(AuthSession).where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
    )
    assert list(live) == []


# --- MFA ------------------------------------------------------------------------------------


def totp_code(secret: str, *, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock.now() + timedelta(seconds=30 * steps))


async def enroll(client: httpx.AsyncClient, access_token: str) -> tuple[str, list[str]]:
    started = await client.post(f"{ME}/mfa/totp", headers=bearer(access_token))
    assert started.status_code == 201, started.text
    body: dict[str, Any] = started.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/")
    assert body["qr_svg"].lstrip().startswith("<svg")
    confirmed = await client.post(
        f"{ME}/mfa/totp/confirm",
        json={"code": totp_code(body["secret"], steps=-1)},
        headers=bearer(access_token),
    )
    assert confirmed.status_code == 200, confirmed.text
    codes: list[str] = confirmed.json()["recovery_codes"]
    return body["secret"], codes


async def test_mfa__enroll_login_verify_replay_recovery(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a user who enrolled TOTP
    await create_user(db)
    first = await logged_in(client)
    secret, recovery = await enroll(client, first["access_token"])
    assert len(recovery) == 10
    me = await client.get(ME, headers=bearer(first["access_token"]))
    assert me.json()["mfa_enabled"] is True

    # When they log in, the password step asks for the second factor
    challenge = (await login(client)).json()
    assert challenge["status"] == "mfa_required"
    assert "access_token" not in challenge
    # And the current TOTP code completes the login
    code = totp_code(secret)
    done = await client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": challenge["mfa_token"], "code": code}
    )
    assert done.status_code == 200, done.text
    assert (await client.get(ME, headers=bearer(done.json()["access_token"]))).status_code == 200

    # Then the same code cannot be used again (replay), even with a fresh challenge
    again = (await login(client)).json()
    replay = await client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": again["mfa_token"], "code": code}
    )
    assert_problem(replay, 401, "mfa_verification_failed")

    # And a recovery code works exactly once
    with_recovery = await client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": again["mfa_token"], "code": recovery[0]}
    )
    assert with_recovery.status_code == 200, with_recovery.text
    third = (await login(client)).json()
    reused = await client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": third["mfa_token"], "code": recovery[0]}
    )
    assert_problem(reused, 401, "mfa_verification_failed")


async def test_mfa_verify__too_many_codes_for_one_token__token_burned(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await create_user(db)
    first = await logged_in(client)
    secret, _ = await enroll(client, first["access_token"])
    challenge = (await login(client)).json()
    for _ in range(5):
        wrong = await client.post(
            "/api/v1/auth/mfa/verify", json={"mfa_token": challenge["mfa_token"], "code": "000000"}
        )
        assert_problem(wrong, 401, "mfa_verification_failed")
    right = await client.post(
        "/api/v1/auth/mfa/verify",
        json={"mfa_token": challenge["mfa_token"], "code": totp_code(secret, steps=1)},
    )
    assert_problem(right, 401, "mfa_verification_failed")
    failures = await db.scalars(select(AuditLog).where(AuditLog.action == "auth.mfa_failed"))
    assert len(list(failures)) == 5


async def test_mfa_verify__access_token_as_mfa_token__refused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await create_user(db)
    tokens = await logged_in(client)
    response = await client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": tokens["access_token"], "code": "123456"}
    )
    assert_problem(response, 401, "mfa_verification_failed")


async def test_mfa_disable_and_regenerate__over_http(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await create_user(db)
    tokens = await logged_in(client)
    secret, recovery = await enroll(client, tokens["access_token"])
    regenerated = await client.post(
        f"{ME}/mfa/recovery-codes",
        json={"code": totp_code(secret)},
        headers=bearer(tokens["access_token"]),
    )
    assert regenerated.status_code == 200, regenerated.text
    assert set(regenerated.json()["recovery_codes"]).isdisjoint(recovery)
    disabled = await client.request(
        "DELETE",
        f"{ME}/mfa/totp",
        json={"password": PASSWORD, "code": regenerated.json()["recovery_codes"][0]},
        headers=bearer(tokens["access_token"]),
    )
    assert disabled.status_code == 204, disabled.text
    assert (await login(client)).json()["status"] == "authenticated"


async def test_mfa_confirm__wrong_code__422(client: httpx.AsyncClient, db: AsyncSession) -> None:
    await create_user(db)
    tokens = await logged_in(client)
    await client.post(f"{ME}/mfa/totp", headers=bearer(tokens["access_token"]))
    response = await client.post(
        f"{ME}/mfa/totp/confirm", json={"code": "000000"}, headers=bearer(tokens["access_token"])
    )
    assert_problem(response, 422, "invalid_mfa_code")


async def test_superadmin_without_mfa__only_enrollment_allowed(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a platform owner who has not enrolled MFA
    owner = await create_user(db, email="owner@example.com", name="Owner Person")
    owner.is_superadmin = True
    await db.flush()
    tokens = await logged_in(client, email="owner@example.com")
    headers = bearer(tokens["access_token"])
    # When they try anything else, Then it is refused with the way out
    refused = await client.patch(ME, json={"name": "Owner"}, headers=headers)
    assert_problem(refused, 403, "mfa_enrollment_required")
    sessions_list = await client.get(f"{ME}/sessions", headers=headers)
    assert_problem(sessions_list, 403, "mfa_enrollment_required")
    # But they can read who they are and enroll; afterwards the rest works
    assert (await client.get(ME, headers=headers)).status_code == 200
    await enroll(client, tokens["access_token"])
    assert (await client.patch(ME, json={"name": "Owner"}, headers=headers)).status_code == 200
