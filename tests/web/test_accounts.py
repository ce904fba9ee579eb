"""The pages emails link to (verify, forgot/reset, unlock, invitation), the login's
``?next=`` and the MFA step's recovery-code mode. Tokens come from the real services: each
test reads the link from the queued email (or from a real SMTP server)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from html import unescape
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pyotp
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from keel.audit.models import AuditLog
from keel.auth.models import ActionToken
from keel.config import Settings
from keel.kit import clock
from keel.kit.deps import Resources
from keel.kit.jobs.models import Job
from keel.main import create_app
from keel.notifications.service.mail import SEND_EMAIL_JOB
from keel.organizations.models import Organization
from keel.organizations.schemas import InvitationCreate
from keel.organizations.service import invitations
from keel.users import service as users_service
from keel.users.models import User
from keel.web import rules
from tests.auth.conftest import deliver_mail, link_token
from tests.helpers.tenancy import PASSWORD, access_for, make_org, make_user
from tests.notifications.mailserver import smtp_server
from tests.organizations.builders import (
    audit_actions,
    event_payloads,
    invitations_of,
    make_invitation,
    membership,
)
from tests.web.helpers import STRONG_PASSWORD, csrf_of, log_in, sign_up, submit, text_at, with_totp

NEW_PASSWORD = "a brand new quiet passphrase"
WRONG = "definitely not the right password"


async def mailed_link(db: AsyncSession, *, to: str, template: str, key: str = "link") -> str:
    """The path and query of the link in the newest queued email ``template`` to ``to``: the
    mail as the service wrote it, before any worker sent it."""
    jobs = await db.scalars(
        select(Job).where(Job.name == SEND_EMAIL_JOB).order_by(Job.created_at, Job.id)
    )
    links = [
        str(job.payload["context"][key])
        for job in jobs
        if job.payload["to"] == to and job.payload["template"] == template
    ]
    assert links, f"no {template} email to {to} was queued"
    parts = urlsplit(links[-1])
    return f"{parts.path}?{parts.query}"


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def hidden(html: str, name: str) -> str | None:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    return unescape(found.group(1)) if found else None


async def refreshed(db: AsyncSession, user: User) -> User:
    await db.refresh(user)
    return user


async def audit_of(db: AsyncSession, action: str) -> list[AuditLog]:
    return list(await db.scalars(select(AuditLog).where(AuditLog.action == action)))


# ---- the "safe next path" rule (pure) --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("/invitations/accept?token=abc", True),
        ("/app", True),
        ("/%2F%2Fexample.org", True),  # a path of this site, however odd
        (None, False),
        ("", False),
        ("app", False),
        ("//evil.example", False),
        ("///evil.example", False),
        ("https://evil.example/", False),
        ("http:/evil.example", False),
        ("javascript:alert(1)", False),
        ("/\\evil.example", False),
        ("\\\\evil.example", False),
        ("/\t/evil.example", False),
        ("/\n/evil.example", False),
        (" /app", False),
        ("/app extra", False),
        ("/" + "a" * rules.MAX_NEXT_LENGTH, False),
    ],
)
def test_safe_next_path__value__kept_only_for_a_path_of_this_site(
    value: str | None, kept: bool
) -> None:
    assert rules.safe_next_path(value) == (value if kept else None)


# ---- email verification ----------------------------------------------------------------------


async def test_verify_email__link_from_real_smtp__get_only_shows_post_verifies_once(
    browser: httpx.AsyncClient, db: AsyncSession, resources: Resources, settings: Settings
) -> None:
    # Given a visitor who signed up, and the verification email a real SMTP server received
    with smtp_server() as inbox:
        await sign_up(browser, email="grace@example.com", name="Grace Hopper")
        await deliver_mail(resources, settings, inbox)
    message = inbox.titled("Confirm your email address")
    token = link_token(message)
    # When the link is opened (as a mail scanner would, too)
    page = await browser.get(f"/verify-email?token={token}")
    # Then it shows a button, and nothing is verified yet
    assert page.status_code == 200
    assert 'data-testid="verify-email-button"' in page.text
    assert hidden(page.text, "token") == token
    user = await users_service.get_by_email(db, "grace@example.com")
    assert user is not None and user.email_verified_at is None
    # When the button is pressed
    done = await browser.post(
        "/verify-email", data={"csrf_token": csrf_of(page.text), "token": token}
    )
    # Then the address is verified and audited, and the page leads into the app
    assert done.status_code == 200, done.text
    assert 'data-testid="email-verified"' in done.text and 'href="/app"' in done.text
    assert (await refreshed(db, user)).email_verified_at is not None
    assert len(await audit_of(db, "user.email_verified")) == 1
    # And the same link a second time says why, with the form for a new link
    again = await browser.post(
        "/verify-email", data={"csrf_token": csrf_of(page.text), "token": token}
    )
    assert again.status_code == 400
    assert "already used" in again.text and 'data-testid="resend-button"' in again.text


async def test_verify_email__without_csrf_token__403_and_not_verified(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    await sign_up(browser, email="ada@example.com")
    link = await mailed_link(db, to="ada@example.com", template="verify_email")
    await browser.get(link)
    response = await browser.post("/verify-email", data={"token": token_of(link)})
    assert response.status_code == 403
    user = await users_service.get_by_email(db, "ada@example.com")
    assert user is not None and user.email_verified_at is None


async def test_verify_email__expired_link__400_says_request_new_and_offers_the_form(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a verification link whose token has expired
    await sign_up(browser, email="late@example.com")
    link = await mailed_link(db, to="late@example.com", template="verify_email")
    await db.execute(update(ActionToken).values(expires_at=clock.now() - timedelta(seconds=1)))
    await db.flush()
    # When its button is pressed
    response = await submit(browser, link, "/verify-email", token=token_of(link))
    # Then the page says what to do, and offers to send a new link
    assert response.status_code == 400
    assert "request a new one" in response.text
    assert 'action="/verify-email/resend"' in response.text


async def test_verify_email__link_without_token__400_with_the_resend_form(
    browser: httpx.AsyncClient,
) -> None:
    response = await browser.get("/verify-email")
    assert response.status_code == 400
    assert "incomplete" in response.text and 'data-testid="resend-button"' in response.text
    assert 'data-testid="verify-email-button"' not in response.text


async def test_resend__known_and_unknown_address__same_page_one_email(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given an unverified account
    await make_user(db, email="slow@example.com", verified=False)
    page = await browser.get("/verify-email")
    token = csrf_of(page.text)
    # When a new link is asked for it and for an address nobody uses
    known = await browser.post(
        "/verify-email/resend", data={"csrf_token": token, "email": "slow@example.com"}
    )
    unknown = await browser.post(
        "/verify-email/resend", data={"csrf_token": token, "email": "nobody@example.com"}
    )
    # Then both answers are the same page (but for the address typed)
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("slow@example.com", "X") == unknown.text.replace(
        "nobody@example.com", "X"
    )
    # And only the account got an email
    jobs = list(await db.scalars(select(Job).where(Job.name == SEND_EMAIL_JOB)))
    assert [job.payload["to"] for job in jobs] == ["slow@example.com"]


async def test_resend__malformed_address__422_with_the_error_at_the_field(
    browser: httpx.AsyncClient,
) -> None:
    response = await submit(browser, "/password/forgot", "/verify-email/resend", email="x")
    assert response.status_code == 422
    assert 'id="email-error"' in response.text and 'aria-invalid="true"' in response.text


# ---- forgotten password and reset -------------------------------------------------------------


async def test_login_page__links_to_forgot_password(browser: httpx.AsyncClient) -> None:
    html = (await browser.get("/login")).text
    assert 'data-testid="forgot-password-link"' in html and 'href="/password/forgot"' in html
    assert (await browser.get("/password/forgot")).status_code == 200


async def test_forgot__known_and_unknown_address__same_page_one_link(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given an account
    user = await make_user(db, email="ada@example.com")
    # When a reset link is asked for it, and for an address nobody uses
    known = await submit(browser, "/password/forgot", email="ada@example.com")
    unknown = await submit(browser, "/password/forgot", email="nobody@example.com")
    # Then the answers are the same page, and only the account got a token
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("ada@example.com", "X") == unknown.text.replace(
        "nobody@example.com", "X"
    )
    assert "If an account uses" in known.text
    tokens = list(await db.scalars(select(ActionToken)))
    assert [row.user_id for row in tokens] == [user.id]
    assert len(await audit_of(db, "user.password_reset_requested")) == 1


async def test_forgot__no_csrf_token__403_and_no_email(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_user(db, email="ada@example.com")
    await browser.get("/password/forgot")
    response = await browser.post("/password/forgot", data={"email": "ada@example.com"})
    assert response.status_code == 403
    assert not list(await db.scalars(select(ActionToken)))


async def test_forgot__malformed_address__422_inline(browser: httpx.AsyncClient) -> None:
    response = await submit(browser, "/password/forgot", email="")
    assert response.status_code == 422 and 'id="email-error"' in response.text


async def test_reset__link_from_email__refusals_inline_then_new_password_and_sessions_ended(
    browser: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    # Given a user signed in elsewhere who asks for a reset link
    user = await make_user(db, email="ada@example.com", name="Ada Lovelace")
    elsewhere = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://testserver"
    )
    async with elsewhere:
        assert (await log_in(elsewhere, user.email)).status_code == 303
        await submit(browser, "/password/forgot", email="ada@example.com")
        link = await mailed_link(db, to="ada@example.com", template="reset_password")
        form = await browser.get(link)
        assert form.status_code == 200 and hidden(form.text, "token") == token_of(link)
        fields = {"csrf_token": csrf_of(form.text), "token": token_of(link)}
        # When the two passwords differ, Then the form says so at the confirmation
        differ = await browser.post(
            "/reset-password",
            data={**fields, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD + "!"},
        )
        assert differ.status_code == 422 and 'id="password_confirm-error"' in differ.text
        # When the password is too weak, Then the policy's message is at the password
        weak = await browser.post(
            "/reset-password", data={**fields, "password": "short", "password_confirm": "short"}
        )
        assert weak.status_code == 422 and 'id="password-error"' in weak.text
        assert "at least 12" in weak.text
        # When a good password is sent with the same link (the refusals did not spend it)
        done = await browser.post(
            "/reset-password",
            data={**fields, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
        )
        # Then it is the login page with a notice, and the new password logs in
        assert done.status_code == 303 and done.headers["location"] == "/login"
        login_page = await browser.get("/login")
        assert "Your password is changed" in login_page.text
        assert (await log_in(browser, user.email, NEW_PASSWORD)).status_code == 303
        # And the other browser's session has ended, and the reset was audited
        assert (await elsewhere.get("/app")).headers["location"] == "/login"
    assert len(await audit_of(db, "user.password_reset")) == 1


async def test_reset__used_or_unknown_link__400_with_a_way_to_ask_again(
    browser: httpx.AsyncClient,
) -> None:
    response = await submit(
        browser,
        "/reset-password?token=nope",
        "/reset-password",
        token="nope",
        password=NEW_PASSWORD,
        password_confirm=NEW_PASSWORD,
    )
    assert response.status_code == 400
    assert "not valid" in response.text and 'data-testid="request-new-link"' in response.text


async def test_reset__link_without_token__400_and_no_form(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/reset-password")
    assert response.status_code == 400
    assert 'name="password"' not in response.text and "incomplete" in response.text


async def test_reset__no_csrf_token__403_and_password_unchanged(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await make_user(db, email="ada@example.com")
    await submit(browser, "/password/forgot", email="ada@example.com")
    link = await mailed_link(db, to="ada@example.com", template="reset_password")
    response = await browser.post(
        "/reset-password",
        data={"token": token_of(link), "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )
    assert response.status_code == 403
    assert (await log_in(browser, user.email)).status_code == 303


async def test_forgot__per_ip_auth_budget__shared_with_login_then_429_page(
    settings: Settings, resources: Resources
) -> None:
    # Given the auth routes' per-IP budget set to 3 requests
    tight = settings.model_copy(
        update={"ratelimit": settings.ratelimit.model_copy(update={"auth_per_ip": 3})}
    )
    app = create_app(
        tight,
        resources=Resources(tight, resources.database, resources.cache, resources.broadcast),
        run_worker=False,
    )
    transport = httpx.ASGITransport(app=app)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(
            transport=transport, base_url="https://testserver", headers={"accept": "text/html"}
        ) as client,
    ):
        # When one address posts the login form once and the forgot form three times
        await submit(client, "/login", email="x@example.com", password=WRONG)
        answers = [
            (await submit(client, "/password/forgot", email="x@example.com")).status_code
            for _ in range(3)
        ]
    # Then the fourth auth request of the window is the 429 page
    assert answers == [200, 200, 429]


# ---- unlock ----------------------------------------------------------------------------------


async def test_unlock__link_from_lock_email__button_unlocks_once(
    browser: httpx.AsyncClient,
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
) -> None:
    # Given an account locked by failed logins (from many addresses)
    user = await make_user(db, email="locked@example.com")
    for attempt in range(settings.auth.lockout_threshold):
        await client.post(
            "/api/v1/auth/login",
            json={"email": user.email, "password": WRONG},
            headers={"X-Forwarded-For": f"198.51.100.{attempt}"},
        )
    assert (await log_in(browser, user.email)).status_code == 401
    link = await mailed_link(db, to=user.email, template="account_locked", key="unlock_url")
    # When the link is opened, Then it only shows a button
    page = await browser.get(link)
    assert page.status_code == 200 and 'data-testid="unlock-button"' in page.text
    # When the button is pressed
    response = await browser.post(
        "/unlock", data={"csrf_token": csrf_of(page.text), "token": token_of(link)}
    )
    # Then the login page says so, the password works again, and it was audited
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert "unlocked" in (await browser.get("/login")).text
    assert (await log_in(browser, user.email)).status_code == 303
    assert len(await audit_of(db, "auth.account_unlocked")) == 1
    # And the link does not work twice
    again = await submit(browser, link, "/unlock", token=token_of(link))
    assert again.status_code == 400 and "already used" in again.text


async def test_unlock__unknown_token__400_with_the_reset_way_out(
    browser: httpx.AsyncClient,
) -> None:
    response = await submit(browser, "/unlock?token=nope", "/unlock", token="nope")
    assert response.status_code == 400
    assert "not valid" in response.text and 'href="/password/forgot"' in response.text


async def test_unlock__no_csrf_token__403(browser: httpx.AsyncClient) -> None:
    await browser.get("/unlock?token=nope")
    assert (await browser.post("/unlock", data={"token": "nope"})).status_code == 403


# ---- invitations ------------------------------------------------------------------------------


async def invite(
    db: AsyncSession, settings: Settings, *, email: str, role: str = "member"
) -> tuple[Organization, str]:
    """An organization whose admin invites ``email`` through the service; the emailed link."""
    admin = await make_user(db, name="Ada Admin")
    org = await make_org(db, admin, name=f"Acme {uuid.uuid4().hex[:4]}")
    tenant = await access_for(db, admin, org)
    await invitations.invite(
        db, tenant, InvitationCreate(email=email, role=role), settings=settings
    )
    return org, await mailed_link(db, to=email, template="invitation")


async def test_invitation__anonymous__names_org_and_role_with_login_and_signup_links(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    org, link = await invite(db, settings, email="grace@example.com", role="manager")
    page = await browser.get(link)
    assert page.status_code == 200
    assert f"Join {org.name}" in page.text and "Manager" in page.text
    assert "grace@example.com" in page.text
    assert 'data-testid="accept-invitation-button"' not in page.text
    back = quote(link, safe="")
    assert f'href="/login?next={back}"' in page.text
    assert f'href="/signup?next={back}"' in page.text


async def test_invitation__newcomer_signs_up_via_next_then_accepts__member_audited_published(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an invitation for a newcomer, opened while signed out
    org, link = await invite(db, settings, email="grace@example.com", role="manager")
    # When they follow "Create an account" and sign up with the invited address
    form = await browser.get(f"/signup?next={quote(link, safe='')}")
    assert hidden(form.text, "next") == link
    signed_up = await browser.post(
        "/signup",
        data={
            "csrf_token": csrf_of(form.text),
            "email": "grace@example.com",
            "name": "Grace Hopper",
            "password": STRONG_PASSWORD,
            "next": link,
        },
    )
    # Then they are back on the invitation, signed in, with the button
    assert signed_up.status_code == 303 and signed_up.headers["location"] == link
    page = await browser.get(link)
    assert 'data-testid="accept-invitation-button"' in page.text
    assert text_at(page.text, "user-name") == "Grace Hopper"
    # When they accept
    accepted = await browser.post(
        "/invitations/accept", data={"csrf_token": csrf_of(page.text), "token": token_of(link)}
    )
    # Then they land on the organization's dashboard, welcomed, as a manager
    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"/app/{org.id}/dashboard"
    dashboard = await browser.get(accepted.headers["location"])
    assert dashboard.status_code == 200 and f"Welcome to {org.name}" in dashboard.text
    user = await users_service.get_by_email(db, "grace@example.com")
    assert user is not None
    joined = await membership(db, org, user)
    assert joined is not None and joined.role == "manager"
    # And the join was audited and published through the outbox, the invitation used up
    assert "member.joined" in await audit_actions(db, org)
    joined_events = await event_payloads(db, org, "member.joined")
    assert joined_events[-1]["user_id"] == str(user.id)
    [stored] = await invitations_of(db, org)
    assert stored.accepted_by == user.id


async def test_invitation__existing_user_logs_in_via_next__back_on_the_invitation(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    user = await make_user(db, email="grace@example.com")
    _, link = await invite(db, settings, email=user.email)
    form = await browser.get(f"/login?next={quote(link, safe='')}")
    assert hidden(form.text, "next") == link
    response = await browser.post(
        "/login",
        data={
            "csrf_token": csrf_of(form.text),
            "email": user.email,
            "password": PASSWORD,
            "next": link,
        },
    )
    assert response.status_code == 303 and response.headers["location"] == link
    # And a signed-in browser sent to the login page with that next goes straight there
    again = await browser.get(f"/login?next={quote(link, safe='')}")
    assert again.status_code == 303 and again.headers["location"] == link


async def test_invitation__other_account__403_message_and_invitation_still_usable(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an invitation for one address, opened by someone signed in with another
    org, link = await invite(db, settings, email="right@example.com")
    wrong = await make_user(db, email="wrong@example.com")
    await log_in(browser, wrong.email)
    # When they accept
    response = await submit(browser, link, "/invitations/accept", token=token_of(link))
    # Then the page says the invitation is for another address, and nothing changed
    assert response.status_code == 403
    assert "another email address" in response.text
    assert await membership(db, org, wrong) is None
    [stored] = await invitations_of(db, org)
    assert stored.accepted_at is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"expires_at": clock.now() - timedelta(minutes=1)}, "This invitation expired"),
        ({"revoked_at": clock.now()}, "This invitation was withdrawn"),
        ({"accepted_at": clock.now()}, "already accepted"),
    ],
)
async def test_invitation__expired_revoked_or_used__400_with_the_reason_and_no_button(
    browser: httpx.AsyncClient, db: AsyncSession, fields: dict[str, Any], message: str
) -> None:
    org = await make_org(db, await make_user(db))
    _, token = await make_invitation(db, org, email="late@example.com", **fields)
    page = await browser.get(f"/invitations/accept?token={token}")
    assert page.status_code == 400
    assert message in page.text and org.name in page.text
    assert "accept-invitation-button" not in page.text and "login-to-accept" not in page.text


async def test_invitation__signed_in_accepts_a_dead_link__400_message(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await make_org(db, await make_user(db))
    invitee = await make_user(db, email="late@example.com")
    _, token = await make_invitation(
        db, org, email=invitee.email, expires_at=clock.now() - timedelta(minutes=1)
    )
    await log_in(browser, invitee.email)
    response = await submit(browser, "/password/forgot", "/invitations/accept", token=token)
    assert response.status_code == 400
    assert "Ask the organization for a new invitation" in response.text
    assert await membership(db, org, invitee) is None


async def test_invitation__unknown_or_missing_token__400_link_does_not_work(
    browser: httpx.AsyncClient,
) -> None:
    for path in ("/invitations/accept?token=nope", "/invitations/accept"):
        page = await browser.get(path)
        assert page.status_code == 400 and "does not work" in page.text


async def test_invitation_accept__anonymous_post__sent_to_login(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a signed-out browser with a valid form token (the page itself shows no form)
    _, link = await invite(db, settings, email="grace@example.com")
    assert "accept-invitation-button" not in (await browser.get(link)).text
    # When it posts the acceptance anyway, Then it is sent to log in
    response = await submit(
        browser, "/password/forgot", "/invitations/accept", token=token_of(link)
    )
    assert response.status_code == 303 and response.headers["location"] == "/login"


async def test_invitation_accept__no_csrf_token__403_and_not_joined(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    org, link = await invite(db, settings, email="grace@example.com")
    invitee = await make_user(db, email="grace@example.com")
    await log_in(browser, invitee.email)
    response = await browser.post("/invitations/accept", data={"token": token_of(link)})
    assert response.status_code == 403
    assert await membership(db, org, invitee) is None


# ---- next: open redirects refused --------------------------------------------------------------


@pytest.mark.parametrize(
    "evil", ["//evil.example/", "https://evil.example/", "/\\evil.example", "/\t/evil.example"]
)
async def test_login_and_signup__foreign_next__ignored(
    browser: httpx.AsyncClient, app: FastAPI, db: AsyncSession, evil: str
) -> None:
    # Given a login link that would send the browser to another site
    user = await make_user(db)
    page = await browser.get("/login", params={"next": evil})
    assert page.status_code == 200 and hidden(page.text, "next") is None
    # When the form is posted with that next anyway
    forged = await browser.post(
        "/login",
        data={
            "csrf_token": csrf_of(page.text),
            "email": user.email,
            "password": PASSWORD,
            "next": evil,
        },
    )
    # Then the browser stays on Keel
    assert forged.status_code == 303 and forged.headers["location"] == "/app"
    # And sign-up ignores it too
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver")
    async with other:
        form = await other.get("/signup", params={"next": evil})
        assert hidden(form.text, "next") is None
        signed_up = await other.post(
            "/signup",
            data={
                "csrf_token": csrf_of(form.text),
                "email": f"n-{uuid.uuid4().hex[:6]}@example.com",
                "name": "Nat",
                "password": STRONG_PASSWORD,
                "next": evil,
            },
        )
    assert signed_up.status_code == 303 and signed_up.headers["location"].startswith("/app/")


# ---- MFA step: the recovery-code mode --------------------------------------------------------


async def totp_user(db: AsyncSession, settings: Settings) -> tuple[User, str, list[str]]:
    """A user with TOTP confirmed through the service: the secret and the recovery codes."""
    user = await make_user(db)
    secret, codes = await with_totp(db, settings, user)
    return user, secret, codes


async def test_mfa__recovery_mode__explicit_field_and_a_code_works_once(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a user with TOTP on, past the password step
    user, _, codes = await totp_user(db, settings)
    await log_in(browser, user.email)
    # Then the code step offers the recovery-code mode as a plain link
    step = await browser.get("/login/mfa")
    assert 'data-testid="code-input"' in step.text
    assert 'data-testid="use-recovery-code"' in step.text
    assert 'href="/login/mfa?recovery=1"' in step.text
    # When they switch to it, Then the field asks for a recovery code, with the way back
    recovery = await browser.get("/login/mfa?recovery=1")
    assert 'data-testid="recovery-code-input"' in recovery.text
    assert "Recovery code" in recovery.text and 'href="/login/mfa"' in recovery.text
    # When a wrong code is sent, Then the same mode is shown again with the error
    wrong = await browser.post(
        "/login/mfa",
        data={"csrf_token": csrf_of(recovery.text), "code": "zzzz-zzzz", "recovery": "1"},
    )
    assert wrong.status_code == 401 and 'data-testid="recovery-code-input"' in wrong.text
    # When a real recovery code is sent, Then they are signed in, and it was audited
    right = await browser.post(
        "/login/mfa",
        data={"csrf_token": csrf_of(recovery.text), "code": codes[0], "recovery": "1"},
    )
    assert right.status_code == 303 and right.headers["location"] == "/app"
    assert len(await audit_of(db, "mfa.recovery_code_used")) == 1
    # And the same code does not work a second time
    browser.cookies.clear()
    await log_in(browser, user.email)
    again = await submit(browser, "/login/mfa?recovery=1", "/login/mfa", code=codes[0])
    assert again.status_code == 401


async def test_mfa__next_kept_through_the_code_step(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a user with TOTP on who logs in from a link with a next path
    user, secret, _ = await totp_user(db, settings)
    target = "/invitations/accept?token=abc"
    form = await browser.get("/login", params={"next": target})
    response = await browser.post(
        "/login",
        data={
            "csrf_token": csrf_of(form.text),
            "email": user.email,
            "password": PASSWORD,
            "next": target,
        },
    )
    # Then the code step carries it, in both modes
    step_url = response.headers["location"]
    assert step_url == f"/login/mfa?next={quote(target, safe='')}"
    step = await browser.get(step_url)
    assert hidden(step.text, "next") == target
    assert f"recovery=1&amp;next={quote(target, safe='')}" in step.text
    # When the code is entered, Then the browser goes there
    done = await browser.post(
        "/login/mfa",
        data={
            "csrf_token": csrf_of(step.text),
            "code": pyotp.TOTP(secret).now(),
            "next": target,
        },
    )
    assert done.status_code == 303 and done.headers["location"] == target
