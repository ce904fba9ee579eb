"""The registration endpoints over HTTP: the seed's sign-up flow with a real SMTP server,
then each endpoint's bad input and success (all of them are public)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit.models import AuditLog
from keel.auth.models import ActionToken, AuthSession
from keel.auth.service import registration
from keel.config import Settings
from keel.events.models import EventRecord
from keel.kit import clock, security
from keel.kit.deps import Resources
from keel.users.models import User
from tests.auth.conftest import PASSWORD, deliver_mail, link_token, make_auth_session, make_user
from tests.kit.test_http import assert_problem
from tests.notifications.mailserver import smtp_server

API = "/api/v1/auth"
SIGN_UP = {"email": "Grace@Example.com", "password": PASSWORD, "name": "Grace Hopper"}


async def register(client: httpx.AsyncClient, **overrides: str) -> httpx.Response:
    return await client.post(f"{API}/register", json={**SIGN_UP, **overrides})


async def user_by_email(db: AsyncSession, email: str) -> User:
    user = await db.scalar(select(User).where(User.email == email))
    assert user is not None
    await db.refresh(user)
    return user


# The seed flow ------------------------------------------------------------------------------


async def test_sign_up__verification_link_from_real_smtp__verifies_once(
    client: httpx.AsyncClient, db: AsyncSession, resources: Resources, settings: Settings
) -> None:
    with smtp_server() as inbox:
        # Given a new registration
        response = await register(client)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body == {
            "id": body["id"],
            "email": "grace@example.com",
            "name": "Grace Hopper",
            "email_verified": False,
        }
        # When the queued jobs run against a real SMTP server
        await deliver_mail(resources, settings, inbox)
    # Then the verification email (beside the welcome mail) carries a link to the public URL
    assert sorted(m["Subject"] for m in inbox.messages) == [
        "Confirm your email address",
        f"Welcome to {settings.notifications.product_name}, Grace Hopper",
    ]
    message = inbox.titled("Confirm your email address")
    assert message["To"] == "grace@example.com"
    text = message.get_body(("plain",))
    assert text is not None
    assert f"{settings.http.public_url}/verify-email?token=" in text.get_content()
    token = link_token(message)
    # When the token from the link is posted, Then the user is verified
    verified = await client.post(f"{API}/verify-email", json={"token": token})
    assert verified.status_code == 200, verified.text
    assert verified.json()["email_verified"] is True
    assert (await user_by_email(db, "grace@example.com")).email_verified_at is not None
    # And the same link a second time is refused
    again = await client.post(f"{API}/verify-email", json={"token": token})
    assert "already used" in str(assert_problem(again, 400, "token_invalid")["detail"])


async def test_register__success__audited_and_published(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    response = await register(client)
    assert response.status_code == 201
    user_id = response.json()["id"]
    entry = await db.scalar(select(AuditLog).where(AuditLog.action == "user.created"))
    assert entry is not None and entry.target_id == user_id
    assert entry.ip == "127.0.0.1" and entry.request_id
    names = set(await db.scalars(select(EventRecord.name)))
    assert "user.created" in names


@pytest.mark.parametrize("variant", ["grace@example.com", "GRACE@EXAMPLE.COM", "Grace@example.Com"])
async def test_register__email_case_variant__409_email_taken(
    client: httpx.AsyncClient, variant: str
) -> None:
    assert (await register(client)).status_code == 201
    assert_problem(await register(client, email=variant), 409, "email_taken")


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("short", "at least 12"),
        ("password1234", "common or breached"),
        ("grace's own passphrase", "email address"),
        ("x" * 257, "at most 256"),
    ],
)
async def test_register__weak_password__422_on_body_password(
    client: httpx.AsyncClient, password: str, fragment: str
) -> None:
    body = assert_problem(await register(client, password=password), 422, "validation_error")
    errors = body["errors"]
    assert isinstance(errors, list)
    assert all(e["field"] == "body.password" for e in errors)
    assert any(fragment in e["message"] for e in errors)


@pytest.mark.parametrize(
    "payload",
    [
        {"email": "grace@example.com", "password": PASSWORD},
        {"email": "not an address", "password": PASSWORD, "name": "Grace"},
        {"email": "grace@example.com", "password": PASSWORD, "name": ""},
    ],
)
async def test_register__bad_input__422(client: httpx.AsyncClient, payload: dict[str, str]) -> None:
    assert_problem(await client.post(f"{API}/register", json=payload), 422, "validation_error")


async def test_register__100_char_emoji_password__accepted(client: httpx.AsyncClient) -> None:
    response = await register(client, password=("🦊 quiet river " * 10)[:100])
    assert response.status_code == 201, response.text


# Verification -------------------------------------------------------------------------------


async def test_verify_email__expired_token__token_invalid_says_request_new(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a user with a verification token that has expired
    user = await make_user(db, verified=False)
    await registration.send_verification(db, user, settings=settings)
    token = await _latest_token(db)
    await db.execute(update(ActionToken).values(expires_at=clock.now() - timedelta(seconds=1)))
    await db.flush()
    # When it is used, Then it is refused with a message that says what to do
    response = await client.post(f"{API}/verify-email", json={"token": token})
    assert "request a new one" in str(assert_problem(response, 400, "token_invalid")["detail"])


async def test_verify_email__unknown_token__token_invalid(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/verify-email", json={"token": "nope"})
    assert_problem(response, 400, "token_invalid")


async def test_verify_email__bad_input__422(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post(f"{API}/verify-email", json={}), 422, "validation_error")


async def test_resend__unverified_known_and_unknown__same_202_one_email(
    client: httpx.AsyncClient, db: AsyncSession, resources: Resources, settings: Settings
) -> None:
    await make_user(db, email="ada@example.com", verified=False)
    with smtp_server() as inbox:
        known = await client.post(f"{API}/verify-email/resend", json={"email": "ADA@example.com"})
        unknown = await client.post(f"{API}/verify-email/resend", json={"email": "x@example.com"})
        # A second request within the minute is throttled silently
        again = await client.post(f"{API}/verify-email/resend", json={"email": "ada@example.com"})
        await deliver_mail(resources, settings, inbox)
    assert known.status_code == unknown.status_code == again.status_code == 202
    assert known.json() == unknown.json() == again.json()
    assert [m["To"] for m in inbox.messages] == ["ada@example.com"]


async def test_resend__bad_input__422(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/verify-email/resend", json={"mail": "a@b.c"})
    assert_problem(response, 422, "validation_error")


# Forgot and reset ---------------------------------------------------------------------------


async def test_forgot__known_and_unknown__identical_202(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_user(db)
    known = await client.post(f"{API}/password/forgot", json={"email": "ada@example.com"})
    unknown = await client.post(f"{API}/password/forgot", json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    assert len(list(await db.scalars(select(ActionToken)))) == 1


async def test_forgot__per_ip_abuse__429_rate_limited(client: httpx.AsyncClient) -> None:
    limit = registration.FORGOT_IP_LIMIT.count
    for _ in range(limit):
        response = await client.post(f"{API}/password/forgot", json={"email": "x@example.com"})
        assert response.status_code == 202
    refused = await client.post(f"{API}/password/forgot", json={"email": "x@example.com"})
    body = assert_problem(refused, 429, "rate_limited")
    assert body["limit"] == limit and body["window"] == 3600
    assert refused.headers["Retry-After"] == str(body["retry_after"])
    assert refused.headers["X-RateLimit-Limit"] == str(limit)
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["RateLimit-Policy"] == f"{limit};w=3600"


async def test_forgot__bad_input__422(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post(f"{API}/password/forgot", json={}), 422, "validation_error")


async def test_reset__link_from_email__password_set_and_all_sessions_ended(
    client: httpx.AsyncClient, db: AsyncSession, resources: Resources, settings: Settings
) -> None:
    # Given a user logged in on two devices who asks for a reset
    user = await make_user(db)
    sessions = [await make_auth_session(db, user.id) for _ in range(2)]
    with smtp_server() as inbox:
        await client.post(f"{API}/password/forgot", json={"email": "ada@example.com"})
        await deliver_mail(resources, settings, inbox)
    [message] = inbox.messages
    assert message["Subject"] == "Reset your password"
    token = link_token(message)
    # When the new password is posted with the token from the link
    new = "a brand new passphrase"
    response = await client.post(f"{API}/password/reset", json={"token": token, "password": new})
    # Then it is set, every session is revoked, and it is audited
    assert response.status_code == 204, response.text
    for auth_session in sessions:
        await db.refresh(auth_session)
        assert auth_session.revoked_at is not None
        assert auth_session.revoked_reason == "password_reset"
    actions = set(await db.scalars(select(AuditLog.action)))
    assert {"user.password_reset", "session.revoked"} <= actions
    # And the link does not work twice
    again = await client.post(f"{API}/password/reset", json={"token": token, "password": new})
    assert_problem(again, 400, "token_invalid")


async def test_reset__weak_password__422_and_token_still_usable(
    client: httpx.AsyncClient, db: AsyncSession, resources: Resources
) -> None:
    await make_user(db)
    await client.post(f"{API}/password/forgot", json={"email": "ada@example.com"})
    token = await _token_for(db, "ada@example.com")
    weak = await client.post(f"{API}/password/reset", json={"token": token, "password": "123"})
    assert_problem(weak, 422, "validation_error")
    ok = await client.post(
        f"{API}/password/reset", json={"token": token, "password": "a brand new passphrase"}
    )
    assert ok.status_code == 204, ok.text


async def test_reset__bad_input__422(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/password/reset", json={"token": "t"})
    assert_problem(response, 422, "validation_error")


async def test_reset__sessions_of_other_users__untouched(
    client: httpx.AsyncClient, db: AsyncSession, resources: Resources
) -> None:
    await make_user(db)
    other = await make_user(db, email="grace@example.com", name="Grace Hopper")
    theirs = await make_auth_session(db, other.id)
    await client.post(f"{API}/password/forgot", json={"email": "ada@example.com"})
    token = await _token_for(db, "ada@example.com")
    await client.post(
        f"{API}/password/reset", json={"token": token, "password": "a brand new passphrase"}
    )
    await db.refresh(theirs)
    assert theirs.revoked_at is None
    assert await db.scalar(select(AuthSession.id).where(AuthSession.user_id == other.id))


# Email change -------------------------------------------------------------------------------


async def test_email_confirm__link_sent_to_new_address__applied(
    client: httpx.AsyncClient, db: AsyncSession, resources: Resources, settings: Settings
) -> None:
    user = await make_user(db)
    actor = Actor(kind="user", id=str(user.id))
    with smtp_server() as inbox:
        await registration.request_email_change(
            db, actor, user, password=PASSWORD, new_email="ada@new.example", settings=settings
        )
        await db.flush()
        await deliver_mail(resources, settings, inbox)
    [message] = inbox.messages
    assert message["To"] == "ada@new.example"
    response = await client.post(f"{API}/email/confirm", json={"token": link_token(message)})
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "ada@new.example"


async def test_email_confirm__bad_input__422(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/email/confirm", json={"token": ""})
    assert_problem(response, 422, "validation_error")


async def _latest_token(db: AsyncSession) -> str:
    """Action tokens are stored hashed; tests that skip the email re-issue a known one."""
    row = await db.scalar(select(ActionToken).order_by(ActionToken.created_at.desc()))
    assert row is not None
    known = "known-test-token"
    row.token_hash = security.token_hash(known)
    await db.flush()
    return known


async def _token_for(db: AsyncSession, email: str) -> str:
    user = await user_by_email(db, email)
    row = await db.scalar(select(ActionToken).where(ActionToken.user_id == user.id))
    assert row is not None
    known = f"known-{user.id}"
    row.token_hash = security.token_hash(known)
    await db.flush()
    return known
