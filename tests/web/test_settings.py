"""The caller's settings pages (profile, security: password, two-factor, sessions; email
preferences), the notifications inbox and an organization's API keys, through the ASGI app.
Each mutation is checked where the API's own service leaves it: the row, the audit log, the
outbox, and what the credential it made or ended can still do on the API."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from html import unescape
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.audit.models import AuditLog
from keel.auth.service import mfa, tokens
from keel.config import Settings
from keel.events.models import EventRecord
from keel.kit import clock
from keel.kit.security import KeyRing
from keel.notifications import service as notifications_service
from keel.organizations.models import Organization
from keel.users.models import User
from keel.web.service.settings import device_of, inbox_link
from tests.helpers.tenancy import (
    PASSWORD,
    Caller,
    add_member,
    caller_for,
    make_org,
    make_user,
)
from tests.organizations.builders import (
    audit_actions,
    event_payloads,
    fresh,
    grant_custom_role,
)
from tests.web.helpers import csrf_of, log_in, submit, text_at

PROFILE = "/app/settings/profile"
SECURITY = "/app/settings/security"
MFA_SETUP = "/app/settings/security/mfa"
PREFERENCES = "/app/settings/notifications"
INBOX = "/app/notifications"
NEW_PASSWORD = "a brand new quiet passphrase"
WRONG = "definitely not the right password"


@pytest.fixture
def keyring(settings: Settings) -> KeyRing:
    return KeyRing.from_settings(settings)


async def signed_in(browser: httpx.AsyncClient, db: AsyncSession, **fields: Any) -> User:
    """A user with an organization of their own, logged in through the form."""
    user = await make_user(db, **fields)
    await make_org(db, user)
    response = await log_in(browser, user.email)
    assert response.status_code == 303, response.text
    return user


async def user_audit(db: AsyncSession, user: User, action: str) -> list[AuditLog]:
    stmt = select(AuditLog).where(AuditLog.action == action, AuditLog.target_id == str(user.id))
    return await fresh(db, stmt)


async def user_events(db: AsyncSession, name: str) -> list[EventRecord]:
    return await fresh(db, select(EventRecord).where(EventRecord.name == name))


def shown_at(html: str, testid: str) -> str:
    found = re.search(rf'data-testid="{re.escape(testid)}"[^>]*>(.*?)</', html, re.S)
    assert found, f"no data-testid={testid} on the page"
    return unescape(found.group(1)).strip()


async def bearer_works(client: httpx.AsyncClient, caller: Caller) -> bool:
    response = await client.get("/api/v1/me", headers=caller.headers)
    assert response.status_code in {200, 401}, response.text
    return response.status_code == 200


# ---- guards -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", [PROFILE, SECURITY, MFA_SETUP, PREFERENCES, INBOX, "/app/settings"]
)
async def test_settings_pages__anonymous__redirect_to_login(
    browser: httpx.AsyncClient, path: str
) -> None:
    response = await browser.get(path)
    assert response.status_code == 303 and response.headers["location"] == "/login"


async def test_settings_pages__signed_in__each_page_marks_its_navigation(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    await signed_in(browser, db)
    for path, tab in (
        (PROFILE, "profile"),
        (SECURITY, "security"),
        (PREFERENCES, "email-preferences"),
    ):
        page = await browser.get(path)
        assert page.status_code == 200
        assert re.search(rf'data-testid="settings-tab-{tab}" aria-current="page"', page.text)
        assert page.text.count("<h1") == 1
    inbox = await browser.get(INBOX)
    assert 'data-testid="nav-notifications" aria-current="page"' in inbox.text


# ---- profile ----------------------------------------------------------------------------------


async def test_profile__new_name__saved_audited_and_shown(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a signed-in user
    user = await signed_in(browser, db, name="Ada Lovelace")
    # When they save a new name
    response = await submit(browser, PROFILE, PROFILE, name="  Ada King  ")
    # Then they are back on the profile with the name changed (trimmed) and audited
    assert response.status_code == 303 and response.headers["location"] == PROFILE
    page = await browser.get(PROFILE)
    assert text_at(page.text, "user-name") == "Ada King"
    assert "Profile saved." in page.text
    [entry] = await user_audit(db, user, "user.updated")
    assert entry.changes == {"name": {"before": "Ada Lovelace", "after": "Ada King"}}


async def test_profile__blank_name__422_with_the_error_at_the_name(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    await signed_in(browser, db, name="Ada Lovelace")
    response = await submit(browser, PROFILE, PROFILE, name="   ")
    assert response.status_code == 422
    assert 'id="name-error"' in response.text


async def test_email_change__right_password__link_mailed_to_new_address_nothing_changed_yet(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a signed-in user
    user = await signed_in(browser, db)
    old = user.email
    # When they ask to move to a new address with their password
    response = await submit(
        browser,
        PROFILE,
        "/app/settings/email",
        new_email="new@example.com",
        email_password=PASSWORD,
    )
    # Then a link goes to the new address, and the account keeps the old one until it is used
    assert response.status_code == 303 and response.headers["location"] == PROFILE
    assert "new@example.com" in (await browser.get(PROFILE)).text
    [entry] = await user_audit(db, user, "user.email_change_requested")
    assert entry.context == {"new_email": "new@example.com"}
    await db.refresh(user)
    assert user.email == old


@pytest.mark.parametrize(
    ("fields", "status", "error_at"),
    [
        ({"new_email": "new@example.com", "email_password": WRONG}, 400, "email_password"),
        ({"new_email": "not an address", "email_password": PASSWORD}, 422, "new_email"),
        ({"new_email": "", "email_password": ""}, 422, "new_email"),
    ],
)
async def test_email_change__refused__form_again_with_the_error_inline(
    browser: httpx.AsyncClient,
    db: AsyncSession,
    fields: dict[str, str],
    status: int,
    error_at: str,
) -> None:
    user = await signed_in(browser, db)
    response = await submit(browser, PROFILE, "/app/settings/email", **fields)
    assert response.status_code == status
    assert f'id="{error_at}-error"' in response.text
    assert await user_audit(db, user, "user.email_change_requested") == []


async def test_email_change__address_taken__409_inline(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    other = await make_user(db)
    await signed_in(browser, db)
    response = await submit(
        browser, PROFILE, "/app/settings/email", new_email=other.email, email_password=PASSWORD
    )
    assert response.status_code == 409
    assert 'id="new_email-error"' in response.text


# ---- password ---------------------------------------------------------------------------------


async def test_change_password__ending_other_sessions__other_bearer_ends_this_browser_stays(
    browser: httpx.AsyncClient,
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
) -> None:
    # Given a user signed in here and elsewhere (a bearer token of another session)
    user = await signed_in(browser, db)
    elsewhere = await caller_for(db, settings, user)
    assert await bearer_works(client, elsewhere)
    # When they change their password, leaving "sign out my other sessions" ticked
    response = await submit(
        browser,
        SECURITY,
        f"{SECURITY}/password",
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        end_other_sessions="on",
    )
    # Then the password changed (audited, published), the other session ended, this one lives
    assert response.status_code == 303 and response.headers["location"] == SECURITY
    assert "1 other session signed out" in (await browser.get(SECURITY)).text
    assert not await bearer_works(client, elsewhere)
    assert len(await user_audit(db, user, "user.password_changed")) == 1
    assert [e.payload["user_id"] for e in await user_events(db, "user.password_changed")] == [
        str(user.id)
    ]
    await browser.post("/logout", data={"csrf_token": csrf_of((await browser.get(SECURITY)).text)})
    assert (await log_in(browser, user.email, NEW_PASSWORD)).status_code == 303


async def test_change_password__box_unticked__other_sessions_kept(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    user = await signed_in(browser, db)
    elsewhere = await caller_for(db, settings, user)
    response = await submit(
        browser,
        SECURITY,
        f"{SECURITY}/password",
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
    )
    assert response.status_code == 303
    assert await bearer_works(client, elsewhere)


@pytest.mark.parametrize(
    ("current", "new", "status", "error_at"),
    [
        (WRONG, NEW_PASSWORD, 400, "current_password"),
        (PASSWORD, "short", 422, "new_password"),
        ("", "", 422, "current_password"),
    ],
)
async def test_change_password__refused__form_again_with_the_error_inline(
    browser: httpx.AsyncClient,
    db: AsyncSession,
    current: str,
    new: str,
    status: int,
    error_at: str,
) -> None:
    # Given a signed-in user
    user = await signed_in(browser, db)
    # When the current password is wrong, or the new one too weak
    response = await submit(
        browser, SECURITY, f"{SECURITY}/password", current_password=current, new_password=new
    )
    # Then the security page comes back with the message at the field; nothing changed
    assert response.status_code == status
    assert f'id="{error_at}-error"' in response.text
    assert await user_audit(db, user, "user.password_changed") == []


# ---- two-factor -------------------------------------------------------------------------------


async def enroll(browser: httpx.AsyncClient) -> tuple[str, httpx.Response]:
    """Start, read the manual key, confirm with its current code: (secret, the answer)."""
    started = await submit(browser, SECURITY, f"{SECURITY}/mfa")
    assert started.status_code == 303 and started.headers["location"] == MFA_SETUP
    setup = await browser.get(MFA_SETUP)
    secret = shown_at(setup.text, "mfa-secret")
    confirmed = await browser.post(
        f"{MFA_SETUP}/confirm",
        data={"csrf_token": csrf_of(setup.text), "code": pyotp.TOTP(secret).now()},
    )
    return secret, confirmed


def recovery_codes(html: str) -> list[str]:
    listed = re.search(r'data-testid="recovery-codes"[^>]*>(.*?)</ul>', html, re.S)
    assert listed, "no recovery codes on the page"
    return re.findall(r"<code>([^<]+)</code>", listed.group(1))


def next_code(secret: str) -> str:
    """The code of the next 30-second step: a code is accepted once per step."""
    return pyotp.TOTP(secret).at(clock.now() + timedelta(seconds=30))


async def test_mfa_setup__qr_svg_and_manual_key__are_the_services_pending_enrollment(
    browser: httpx.AsyncClient, db: AsyncSession, keyring: KeyRing
) -> None:
    # Given a signed-in user who starts enrolling
    user = await signed_in(browser, db)
    await submit(browser, SECURITY, f"{SECURITY}/mfa")
    # When they open the setup step
    page = await browser.get(MFA_SETUP)
    # Then it shows the service's enrollment: its QR code inline (an SVG of the otpauth URI)
    # and its secret to type by hand; the page is not cached
    pending = await mfa.pending_enrollment(db, user, keyring=keyring)
    assert pending is not None
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "<svg" in page.text and pending.qr_svg in page.text
    assert shown_at(page.text, "mfa-secret") == pending.secret
    assert f"secret={pending.secret}" in pending.otpauth_uri
    # And the security page offers to continue it
    assert 'data-testid="mfa-continue-link"' in (await browser.get(SECURITY)).text


async def test_mfa_enrollment__right_code__on_with_recovery_codes_shown_once(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a signed-in user
    user = await signed_in(browser, db)
    # When they enroll and confirm with the app's current code
    _secret, confirmed = await enroll(browser)
    # Then MFA is on (audited) and the answer lists ten recovery codes, not cached
    assert confirmed.status_code == 200
    assert confirmed.headers["cache-control"] == "no-store"
    codes = recovery_codes(confirmed.text)
    assert len(codes) == mfa.RECOVERY_CODE_COUNT
    assert 'data-testid="codes-saved-button"' in confirmed.text
    assert await mfa.is_enabled(db, user.id)
    assert len(await user_audit(db, user, "mfa.enabled")) == 1
    # And no page shows them again: the security page says "On", without any code
    security = await browser.get(SECURITY)
    assert "On" in shown_at(security.text, "mfa-status") or ">On<" in security.text
    assert not any(code in security.text for code in codes)
    assert (await browser.get(MFA_SETUP)).headers["location"] == SECURITY


async def test_mfa_enrollment__wrong_code__422_with_the_same_qr_and_still_off(
    browser: httpx.AsyncClient, db: AsyncSession, keyring: KeyRing
) -> None:
    user = await signed_in(browser, db)
    await submit(browser, SECURITY, f"{SECURITY}/mfa")
    pending = await mfa.pending_enrollment(db, user, keyring=keyring)
    assert pending is not None
    wrong = f"{(int(pyotp.TOTP(pending.secret).now()) + 500_000) % 1_000_000:06d}"
    response = await submit(browser, MFA_SETUP, f"{MFA_SETUP}/confirm", code=wrong)
    assert response.status_code == 422
    assert 'id="code-error"' in response.text
    assert shown_at(response.text, "mfa-secret") == pending.secret
    assert not await mfa.is_enabled(db, user.id)


async def test_mfa__then_log_in_again__asks_for_the_code(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await signed_in(browser, db)
    await enroll(browser)
    await browser.post("/logout", data={"csrf_token": csrf_of((await browser.get(SECURITY)).text)})
    response = await log_in(browser, user.email)
    assert response.status_code == 303 and response.headers["location"].startswith("/login/mfa")


async def test_recovery_codes__regenerated_with_a_code__new_ones_shown_old_ones_void(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a user with MFA on and their first recovery codes
    user = await signed_in(browser, db)
    secret, confirmed = await enroll(browser)
    first = recovery_codes(confirmed.text)
    # When they ask for new codes with a wrong code, then with the app's next code
    refused = await submit(
        browser, SECURITY, f"{SECURITY}/mfa/recovery-codes", regenerate_code="123456x"
    )
    answer = await submit(
        browser, SECURITY, f"{SECURITY}/mfa/recovery-codes", regenerate_code=next_code(secret)
    )
    # Then the wrong code is refused inline; the right one shows ten new codes once
    assert refused.status_code == 422 and 'id="regenerate_code-error"' in refused.text
    assert answer.status_code == 200
    second = recovery_codes(answer.text)
    assert len(second) == mfa.RECOVERY_CODE_COUNT and not set(first) & set(second)
    assert len(await user_audit(db, user, "mfa.recovery_codes_regenerated")) == 1


async def test_mfa_disable__password_and_code__off(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a user with MFA on
    user = await signed_in(browser, db)
    secret, _ = await enroll(browser)
    # When they turn it off with a wrong password, then with the password and a code
    refused = await submit(
        browser,
        SECURITY,
        f"{SECURITY}/mfa/disable",
        disable_password=WRONG,
        disable_code=next_code(secret),
    )
    assert refused.status_code == 422 and "not valid" in refused.text
    assert await mfa.is_enabled(db, user.id)
    response = await submit(
        browser,
        SECURITY,
        f"{SECURITY}/mfa/disable",
        disable_password=PASSWORD,
        disable_code=next_code(secret),  # unused: the wrong password stopped the first
    )
    # Then it is off and audited
    assert response.status_code == 303 and response.headers["location"] == SECURITY
    assert not await mfa.is_enabled(db, user.id)
    assert len(await user_audit(db, user, "mfa.disabled")) == 1


async def test_security__platform_owner_without_mfa__may_enroll_here(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given the platform owner before they turned MFA on (every other page refuses them)
    await signed_in(browser, db, is_superadmin=True)
    assert (await browser.get(PROFILE)).status_code == 403
    # When they open the security page and enroll
    assert (await browser.get(SECURITY)).status_code == 200
    _secret, confirmed = await enroll(browser)
    # Then it works, and the other pages open
    assert confirmed.status_code == 200
    assert (await browser.get(PROFILE)).status_code == 200


# ---- sessions ---------------------------------------------------------------------------------


async def test_sessions__listed__this_browser_marked_with_its_device(
    browser: httpx.AsyncClient, other_browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await signed_in(browser, db)
    await log_in(other_browser, user.email)
    page = await browser.get(SECURITY)
    assert page.text.count('data-testid="session-row"') == 2
    assert page.text.count('data-current="true"') == 1
    assert "This browser" in page.text
    assert 'data-testid="revoke-others-open"' in page.text


async def test_revoke_session__another_device__its_cookie_and_bearer_stop_working(
    browser: httpx.AsyncClient,
    other_browser: httpx.AsyncClient,
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
) -> None:
    # Given a user signed in here, in another browser, and with a bearer token
    user = await signed_in(browser, db)
    await log_in(other_browser, user.email)
    token = await caller_for(db, settings, user)
    page = await browser.get(SECURITY)
    other_ids = re.findall(r"/app/settings/security/sessions/([0-9a-f-]{36})/revoke", page.text)
    current = re.search(r'data-current="true">.*?/sessions/([0-9a-f-]{36})/revoke', page.text, re.S)
    assert current
    others = sorted(set(other_ids) - {current.group(1)})
    assert len(others) == 2
    # When they sign each of the others out (the confirmation page first, without JavaScript)
    for session_id in others:
        confirm = await browser.get(f"{SECURITY}/sessions/{session_id}/revoke")
        assert confirm.status_code == 200 and 'data-testid="confirm-button"' in confirm.text
        response = await browser.post(
            f"{SECURITY}/sessions/{session_id}/revoke", data={"csrf_token": csrf_of(confirm.text)}
        )
        assert response.status_code == 303 and response.headers["location"] == SECURITY
    # Then the other browser is sent to log in, the bearer is refused, this browser stays
    assert (await other_browser.get(PROFILE)).headers["location"] == "/login"
    assert not await bearer_works(client, token)
    assert (await browser.get(SECURITY)).status_code == 200
    assert len(await fresh(db, select(AuditLog).where(AuditLog.action == "session.revoked"))) == 2


async def test_revoke_session__this_browser__signed_out_to_login(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    await signed_in(browser, db)
    page = await browser.get(SECURITY)
    current = re.search(r'data-current="true">.*?/sessions/([0-9a-f-]{36})/revoke', page.text, re.S)
    assert current
    response = await browser.post(
        f"{SECURITY}/sessions/{current.group(1)}/revoke", data={"csrf_token": csrf_of(page.text)}
    )
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert (await browser.get(SECURITY)).headers["location"] == "/login"


async def test_revoke_session__someone_elses__404_page(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    stranger = await caller_for(db, settings, await make_user(db))
    await signed_in(browser, db)
    page = await browser.get(SECURITY)
    stranger_session = tokens.read_access_token(settings, stranger.token).session_id
    for response in (
        await browser.get(f"{SECURITY}/sessions/{stranger_session}/revoke"),
        await browser.post(
            f"{SECURITY}/sessions/{stranger_session}/revoke",
            data={"csrf_token": csrf_of(page.text)},
        ),
    ):
        assert response.status_code == 404
        assert 'data-testid="problem"' in response.text


async def test_revoke_others__every_other_session_ends__this_one_stays(
    browser: httpx.AsyncClient,
    other_browser: httpx.AsyncClient,
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
) -> None:
    user = await signed_in(browser, db)
    await log_in(other_browser, user.email)
    token = await caller_for(db, settings, user)
    confirm = await browser.get(f"{SECURITY}/sessions/revoke-others")
    assert confirm.status_code == 200
    response = await browser.post(
        f"{SECURITY}/sessions/revoke-others", data={"csrf_token": csrf_of(confirm.text)}
    )
    assert response.status_code == 303
    page = await browser.get(SECURITY)
    assert "2 other sessions signed out." in page.text
    assert page.text.count('data-testid="session-row"') == 1
    assert (await other_browser.get(PROFILE)).headers["location"] == "/login"
    assert not await bearer_works(client, token)


def test_device_of__common_user_agents__named_as_people_say_them() -> None:
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    chrome_mac = (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0 Safari/537.36"
    )
    assert device_of(firefox) == "Firefox on Linux"
    assert device_of(chrome_mac) == "Chrome on macOS"
    assert device_of("python-httpx/0.28.1") == "Python (httpx)"
    assert device_of("Acme-Bot/2") == "Acme-Bot"
    assert device_of(None) == "Unknown device"


# ---- notifications ----------------------------------------------------------------------------


async def notify(db: AsyncSession, user: User, title: str, link: str | None = None) -> uuid.UUID:
    found = await notifications_service.notify(
        db, user_id=user.id, kind="test.notice", title=title, body=f"About {title}.", link=link
    )
    assert found is not None
    return found


def bell_count(html: str) -> str | None:
    return text_at(html, "unread-count")


async def test_inbox__empty__empty_state(browser: httpx.AsyncClient, db: AsyncSession) -> None:
    await signed_in(browser, db)
    page = await browser.get(INBOX)
    assert page.status_code == 200
    assert "No notifications yet" in page.text
    assert bell_count(page.text) is None


async def test_inbox__read_one_then_all__the_bell_counts_down(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given three unread notifications
    user = await signed_in(browser, db)
    first = await notify(db, user, "First")
    await notify(db, user, "Second")
    await notify(db, user, "Third")
    page = await browser.get(INBOX)
    assert bell_count(page.text) == "3"
    assert page.text.count('data-unread="true"') == 3
    assert page.text.index("Third") < page.text.index("First")  # newest first
    # When one is marked read (a plain form post)
    response = await browser.post(f"{INBOX}/{first}/read", data={"csrf_token": csrf_of(page.text)})
    # Then the inbox comes back with two unread, and the bell says 2
    assert response.status_code == 303 and response.headers["location"] == INBOX
    page = await browser.get(INBOX)
    assert bell_count(page.text) == "2"
    assert page.text.count('data-unread="true"') == 2
    # When all are marked read through htmx
    answer = await browser.post(
        f"{INBOX}/read-all",
        data={"csrf_token": csrf_of(page.text)},
        headers={"HX-Request": "true"},
    )
    # Then the answer is the inbox in place with the bell out of band, and nothing is unread
    assert answer.status_code == 200
    assert answer.text.lstrip().startswith('<section id="inbox"')
    assert 'hx-swap-oob="outerHTML:[data-testid=notifications-bell]"' in answer.text
    assert bell_count(answer.text) is None and "<html" not in answer.text
    after = await browser.get(INBOX)
    assert bell_count(after.text) is None
    assert 'data-unread="true"' not in after.text
    assert await notifications_service.unread_count(db, user.id) == 0


async def test_inbox__mark_read_with_htmx__partial_with_the_new_count(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await signed_in(browser, db)
    first = await notify(db, user, "First")
    await notify(db, user, "Second")
    page = await browser.get(INBOX)
    answer = await browser.post(
        f"{INBOX}/{first}/read",
        data={"csrf_token": csrf_of(page.text)},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200
    assert bell_count(answer.text) == "1"
    assert answer.text.count('data-unread="true"') == 1


async def test_inbox__someone_elses_notification__404_page(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    theirs = await notify(db, await make_user(db), "Private")
    await signed_in(browser, db)
    page = await browser.get(INBOX)
    response = await browser.post(f"{INBOX}/{theirs}/read", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 404


async def test_inbox__more_than_a_page__cursor_paging_and_unread_filter(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await signed_in(browser, db)
    ids = [await notify(db, user, f"Item {n:02d}") for n in range(22)]
    await notifications_service.mark_read(db, user.id, ids[0])
    first = await browser.get(INBOX)
    assert first.text.count('data-testid="notification"') == 20
    cursor = re.search(
        r'href="/app/notifications\?cursor=([^"]+)" data-testid="next-page"', first.text
    )
    assert cursor
    second = await browser.get(f"{INBOX}?cursor={cursor.group(1)}")
    assert second.text.count('data-testid="notification"') == 2
    assert "Item 00" in second.text
    unread = await browser.get(f"{INBOX}?unread=1")
    assert "Item 21" in unread.text and 'data-testid="show-all-link"' in unread.text


def test_inbox_link__own_site_opened__others_not_linked() -> None:
    base = "https://keel.example.com"
    assert inbox_link(f"{base}/app/settings/security", base) == "/app/settings/security"
    assert inbox_link("/app/x/plan", base) == "/app/x/plan"
    assert inbox_link("https://evil.example.net/app", base) is None
    assert inbox_link("javascript:alert(1)", base) is None
    assert inbox_link(None, base) is None


# ---- email preferences ------------------------------------------------------------------------


async def test_preferences__untick_one__saved_audited_published_and_shown(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a user receiving every category, with essential mail listed as not switchable
    user = await signed_in(browser, db)
    page = await browser.get(PREFERENCES)
    assert page.text.count("checked") == 3
    assert 'data-testid="essential-security"' in page.text and "Always sent" in page.text
    # When they untick "product" and save
    response = await browser.post(
        PREFERENCES,
        data={"csrf_token": csrf_of(page.text), "email:onboarding": "on", "email:usage": "on"},
    )
    # Then only "product" is off, audited and published, and the page shows it
    assert response.status_code == 303 and response.headers["location"] == PREFERENCES
    saved = await notifications_service.read_preferences(db, user.id)
    assert {p.category: p.subscribed for p in saved.categories} == {
        "onboarding": True,
        "product": False,
        "usage": True,
    }
    [entry] = await user_audit(db, user, "email_preferences.updated")
    assert entry.changes == {"subscribed": {"product": False}}
    [event] = await user_events(db, "email_preferences.updated")
    assert event.payload["subscribed"] == {"product": False}
    again = await browser.get(PREFERENCES)
    assert re.search(r'id="email-product" name="email:product" value="on" data-testid', again.text)


# ---- API keys ---------------------------------------------------------------------------------


async def admin_of_paid_org(browser: httpx.AsyncClient, db: AsyncSession) -> Organization:
    """A signed-in admin of an organization on a plan with API access."""
    user = await make_user(db)
    org = await make_org(db, user, plan="starter")
    await log_in(browser, user.email)
    return org


async def create_key(
    browser: httpx.AsyncClient, org: Organization, **fields: str
) -> httpx.Response:
    keys = f"/app/{org.id}/api-keys"
    return await submit(browser, keys, keys, **fields)


def secret_of(html: str) -> str:
    return shown_at(html, "api-key-secret")


async def test_api_key__created__secret_shown_once_and_works_as_a_bearer(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given an admin on the API keys page
    org = await admin_of_paid_org(browser, db)
    page = await browser.get(f"/app/{org.id}/api-keys")
    assert page.status_code == 200 and "No API keys yet" in page.text
    # When they create a key that may read projects
    answer = await create_key(
        browser, org, name="Nightly export", **{"permission:projects:read": "on"}
    )
    # Then the answer shows its secret once, not cached
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    secret = secret_of(answer.text)
    assert secret.startswith("keel_")
    listed = await browser.get(f"/app/{org.id}/api-keys")
    assert secret not in listed.text and secret[:12] in listed.text
    assert "Nightly export" in listed.text and "projects:read" in listed.text
    # And the key works on the API, within its permissions only
    bearer = {"Authorization": f"Bearer {secret}"}
    assert (await client.get(f"/api/v1/orgs/{org.id}/projects", headers=bearer)).status_code == 200
    denied = await client.get(f"/api/v1/orgs/{org.id}/members", headers=bearer)
    assert denied.status_code == 403
    # And its creation was audited and published like the API's
    assert "api_key.created" in await audit_actions(db, org)
    [payload] = await event_payloads(db, org, "api_key.created")
    assert payload["permissions"] == ["projects:read"]


async def test_api_key__revoked__stops_working(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a working key
    org = await admin_of_paid_org(browser, db)
    secret = secret_of(
        (await create_key(browser, org, name="CI", **{"permission:projects:read": "on"})).text
    )
    bearer = {"Authorization": f"Bearer {secret}"}
    assert (await client.get(f"/api/v1/orgs/{org.id}/projects", headers=bearer)).status_code == 200
    page = await browser.get(f"/app/{org.id}/api-keys")
    key_id = re.search(rf"/app/{org.id}/api-keys/([0-9a-f-]{{36}})/revoke", page.text)
    assert key_id and 'data-testid="revoke-key-0-open"' in page.text
    # When the admin confirms its revocation (the page the modal's opener links to)
    confirm = await browser.get(f"/app/{org.id}/api-keys/{key_id.group(1)}/revoke")
    assert confirm.status_code == 200 and "CI" in confirm.text
    response = await browser.post(
        f"/app/{org.id}/api-keys/{key_id.group(1)}/revoke",
        data={"csrf_token": csrf_of(confirm.text)},
    )
    # Then the key is refused from now on, listed as revoked, and the revocation audited
    assert response.status_code == 303
    assert (await client.get(f"/api/v1/orgs/{org.id}/projects", headers=bearer)).status_code == 401
    assert "Revoked" in (await browser.get(f"/app/{org.id}/api-keys")).text
    assert "api_key.revoked" in await audit_actions(db, org)


@pytest.mark.parametrize(
    ("fields", "error_at"),
    [
        ({"name": "No permissions"}, "permissions"),
        ({"name": "", "permission:projects:read": "on"}, "name"),
        (
            {"name": "Past", "permission:projects:read": "on", "expires_at": "2001-01-01"},
            "expires_at",
        ),
        ({"name": "Garbled", "permission:projects:read": "on", "expires_at": "soon"}, "expires_at"),
    ],
)
async def test_api_key__invalid_form__422_with_the_error_inline(
    browser: httpx.AsyncClient, db: AsyncSession, fields: dict[str, str], error_at: str
) -> None:
    org = await admin_of_paid_org(browser, db)
    response = await create_key(browser, org, **fields)
    assert response.status_code == 422
    assert f'id="{error_at}-error"' in response.text
    assert '<details class="new-item" open>' in response.text
    assert "api_key.created" not in await audit_actions(db, org)


async def test_api_key__future_expiry__listed_with_its_date(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await admin_of_paid_org(browser, db)
    day = (clock.now() + timedelta(days=30)).date().isoformat()
    answer = await create_key(
        browser, org, name="Month", expires_at=day, **{"permission:projects:read": "on"}
    )
    assert answer.status_code == 200
    assert f"{day} 00:00 UTC" in (await browser.get(f"/app/{org.id}/api-keys")).text


async def test_api_key__free_plan__402_page_with_the_upgrade_prompt(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await make_user(db)
    org = await make_org(db, user)
    await log_in(browser, user.email)
    response = await create_key(browser, org, name="X", **{"permission:projects:read": "on"})
    assert response.status_code == 402
    assert 'data-testid="upgrade-modal"' in response.text


async def test_api_keys__another_tenants_org__404_page(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    other = await make_org(db, await make_user(db), plan="starter")
    await admin_of_paid_org(browser, db)
    page = await browser.get(f"/app/{other.id}/api-keys")
    assert page.status_code == 404 and 'data-testid="problem"' in page.text
    token = csrf_of((await browser.get(PROFILE)).text)
    post = await browser.post(
        f"/app/{other.id}/api-keys",
        data={"csrf_token": token, "name": "x", "permission:projects:read": "on"},
    )
    assert post.status_code == 404


async def test_api_keys__member_without_settings_update__403_page(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await make_org(db, await make_user(db), plan="starter")
    member = await make_user(db)
    await add_member(db, org, member, role="member")
    await log_in(browser, member.email)
    page = await browser.get(f"/app/{org.id}/api-keys")
    assert page.status_code == 403
    assert "settings:update" in page.text
    dashboard = await browser.get(f"/app/{org.id}/dashboard")
    assert 'data-testid="nav-api-keys"' not in dashboard.text


async def test_api_keys__custom_role__form_offers_only_what_the_creator_holds(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a member whose custom role holds settings:update and projects:read (and a guest's
    # base grants)
    org = await make_org(db, await make_user(db), plan="starter")
    user = await make_user(db)
    membership = await add_member(db, org, user, role="guest")
    await grant_custom_role(db, org, membership, "settings:update", "projects:read")
    await log_in(browser, user.email)
    # When they open the API keys page
    page = await browser.get(f"/app/{org.id}/api-keys")
    # Then the form offers those permissions, never one their role lacks
    assert page.status_code == 200
    assert 'name="permission:projects:read"' in page.text
    assert 'name="permission:settings:update"' in page.text
    assert 'name="permission:billing:update"' not in page.text
    assert 'data-testid="nav-api-keys" aria-current="page"' in page.text
