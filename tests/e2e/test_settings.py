"""The settings pages in Chromium: two-factor enrollment from the manual key to the next
login's code, sessions, the inbox with its in-place "mark all read", email preferences and
API keys (the secret shown once); each page checked by axe in both themes and photographed
(var/screenshots/settings-*.png)."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx
import pyotp
import pytest
from playwright.async_api import Page, expect

from tests.e2e import steps
from tests.e2e.conftest import SCHEMES, TIMEOUT_MS, AxeViolations, Screenshot
from tests.e2e.steps import PlatformOwner
from tests.e2e.support import DASHBOARD_URL, Visitor, log_in, no_violations, signed_up
from tests.helpers.servers import Server

SECURITY = "/app/settings/security"
INBOX = "/app/notifications"
#: ``KEEL_AUTH__REFRESH_REUSE_GRACE_SECONDS``'s default, which the live server keeps.
REUSE_GRACE_SECONDS = 5.0


async def api_login(server: Server, visitor: Visitor) -> dict[str, Any]:
    """Another session of the visitor, through the API (a script, another device)."""
    async with httpx.AsyncClient(base_url=server.url) as api:
        return await steps.api_login(api, visitor.email, visitor.password)


# ---- two-factor --------------------------------------------------------------------------------


async def enroll(page: Page) -> str:
    """From the security page: start, read the manual key, confirm with its code; returns the
    secret, on the recovery codes page."""
    await page.goto(SECURITY)
    await page.get_by_test_id("mfa-start-button").click()
    await expect(page).to_have_url(re.compile(r"/app/settings/security/mfa$"))
    secret = (await page.get_by_test_id("mfa-secret").inner_text()).strip()
    await page.get_by_test_id("mfa-code-input").fill(pyotp.TOTP(secret).now())
    await page.get_by_test_id("mfa-confirm-button").click()
    await expect(page.get_by_test_id("recovery-codes")).to_be_visible()
    return secret


async def test_mfa__enrolled_from_the_manual_key__next_login_asks_for_the_code(
    page: Page, screenshot: Screenshot
) -> None:
    # Given a new user
    visitor, _org = await signed_up(page)

    # When they enroll with the key typed by hand and the code their app would show
    secret = await enroll(page)

    # Then they see ten recovery codes once, and after "I have saved them" two-factor is on
    await expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    await page.get_by_test_id("codes-saved-button").click()
    await expect(page).to_have_url(re.compile(f"{SECURITY}$"))
    await expect(page.get_by_test_id("mfa-status")).to_contain_text("On")
    await expect(page.get_by_test_id("recovery-codes")).to_have_count(0)

    # When they log out and log in again
    await page.get_by_test_id("user-menu").locator("summary").click()
    await page.get_by_test_id("logout-button").click()
    await log_in(page, visitor.email, visitor.password)

    # Then the password alone is not enough: the app's code (of the next step, as the
    # enrollment's was used) finishes the login
    await expect(page).to_have_url(re.compile(r"/login/mfa"))
    await page.get_by_test_id("code-input").fill(pyotp.TOTP(secret).at(time.time() + 30))
    await page.get_by_test_id("submit-button").click()
    await expect(page).to_have_url(DASHBOARD_URL)
    await screenshot(page, "settings-mfa-logged-in")


@pytest.mark.parametrize("color_scheme", SCHEMES)
async def test_security_pages__axe_wcag21aa__no_violations(
    page: Page, axe_violations: AxeViolations, screenshot: Screenshot
) -> None:
    # Given a new user on the security page
    await signed_up(page)
    await page.goto(SECURITY)
    await screenshot(page, "settings-security")
    await no_violations(page, axe_violations, "security")

    # When they open the enrollment step: the QR code and the key
    await page.get_by_test_id("mfa-start-button").click()
    await expect(page.get_by_test_id("mfa-qr").locator("svg")).to_be_visible()
    await screenshot(page, "settings-security-mfa")
    await no_violations(page, axe_violations, "two-factor setup")

    # And confirm it: the recovery codes page
    secret = (await page.get_by_test_id("mfa-secret").inner_text()).strip()
    await page.get_by_test_id("mfa-code-input").fill(pyotp.TOTP(secret).now())
    await page.get_by_test_id("mfa-confirm-button").click()
    await expect(page.get_by_test_id("recovery-codes")).to_be_visible()
    await screenshot(page, "settings-recovery-codes")
    await no_violations(page, axe_violations, "recovery codes")


# ---- sessions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("color_scheme", SCHEMES)
async def test_sessions__other_one_signed_out_from_the_modal__listed_no_more(
    page: Page, live_server: Server, axe_violations: AxeViolations, screenshot: Screenshot
) -> None:
    # Given a user signed in here and through the API (a second session)
    visitor, _org = await signed_up(page)
    tokens = await api_login(live_server, visitor)
    await page.goto(SECURITY)
    rows = page.get_by_test_id("session-row")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("This browser")

    # When they ask to sign the other one out: a confirmation in a modal
    await page.get_by_test_id("revoke-session-1-open").click()
    dialog = page.get_by_test_id("revoke-session-1")
    await expect(dialog).to_be_visible()
    await screenshot(page, "settings-sessions")
    await no_violations(page, axe_violations, "sessions (confirmation open)")
    await page.get_by_test_id("revoke-session-1-confirm").click()

    # Then only this browser's session is left, and the other's token is refused
    await expect(page.get_by_test_id("toast")).to_contain_text("Session signed out")
    await expect(rows).to_have_count(1)
    async with httpx.AsyncClient(base_url=live_server.url) as api:
        me = await api.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
    assert me.status_code == 401


# ---- notifications ----------------------------------------------------------------------------


async def security_alert(server: Server, visitor: Visitor) -> None:
    """A real notification: a refresh token used twice ends its session and alerts the user
    (the embedded worker files it in their inbox)."""
    tokens = await api_login(server, visitor)
    async with httpx.AsyncClient(base_url=server.url) as api:
        first = {"refresh_token": tokens["refresh_token"]}
        assert (await api.post("/api/v1/auth/refresh", json=first)).status_code == 200
        await asyncio.sleep(REUSE_GRACE_SECONDS + 0.5)  # sooner is a client's race, forgiven
        assert (await api.post("/api/v1/auth/refresh", json=first)).status_code == 401


async def reload_until(page: Page, test_id: str, *, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while await page.get_by_test_id(test_id).count() == 0:
        assert time.monotonic() < deadline, f"no [data-testid={test_id}] on {page.url}"
        await page.wait_for_timeout(250)
        await page.reload()


@pytest.mark.parametrize("color_scheme", SCHEMES)
async def test_inbox__empty_then_an_alert__mark_all_read_in_place_updates_the_bell(
    page: Page, live_server: Server, axe_violations: AxeViolations, screenshot: Screenshot
) -> None:
    # Given a new user's empty inbox
    visitor, _org = await signed_up(page)
    await page.goto(INBOX)
    await expect(page.get_by_text("No notifications yet")).to_be_visible()
    await screenshot(page, "settings-notifications-empty")
    await no_violations(page, axe_violations, "inbox (empty)")

    # When a security alert arrives
    await security_alert(live_server, visitor)
    await reload_until(page, "notification")

    # Then it is listed as unread (a badge with text), linked to the security page, and the
    # bell counts it
    item = page.get_by_test_id("notification").first
    await expect(item).to_contain_text("Unread")
    await expect(item.get_by_role("link")).to_have_attribute("href", SECURITY)
    await expect(page.get_by_test_id("unread-count")).to_have_text("1")
    await screenshot(page, "settings-notifications")
    await no_violations(page, axe_violations, "inbox (with items)")

    # When they mark all read (htmx, in place)
    await page.get_by_test_id("mark-all-read-button").click()

    # Then the list and the header's bell update without a reload, and stay so after one
    await expect(page.get_by_test_id("inbox-unread")).to_contain_text("0 unread")
    await expect(page.get_by_test_id("unread-count")).to_have_count(0)
    await expect(page.get_by_test_id("notifications-bell")).to_have_attribute(
        "aria-label", "Notifications"
    )
    await page.reload()
    await expect(page.get_by_test_id("unread-count")).to_have_count(0)
    await expect(item).not_to_contain_text("Unread")


# ---- profile and email preferences ------------------------------------------------------------


@pytest.mark.parametrize("color_scheme", SCHEMES)
@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("settings-profile", "/app/settings/profile"),
        ("settings-email-preferences", "/app/settings/notifications"),
    ],
)
async def test_profile_and_preferences__axe_wcag21aa__no_violations(
    member_page: Page,
    axe_violations: AxeViolations,
    screenshot: Screenshot,
    name: str,
    path: str,
) -> None:
    response = await member_page.goto(path)
    assert response is not None and response.status == 200
    await screenshot(member_page, name)
    await no_violations(member_page, axe_violations, name)


async def test_preferences__untick_and_save__kept_after_reload(member_page: Page) -> None:
    await member_page.goto("/app/settings/notifications")
    box = member_page.get_by_test_id("email-product")
    await box.set_checked(False)
    await member_page.get_by_test_id("save-preferences-button").click()
    await expect(member_page.get_by_test_id("toast")).to_contain_text("Email preferences saved")
    await member_page.reload()
    await expect(box).not_to_be_checked()
    await box.set_checked(True)
    await member_page.get_by_test_id("save-preferences-button").click()
    await expect(box).to_be_checked()


# ---- API keys ---------------------------------------------------------------------------------


async def on_plan(server: Server, owner: PlatformOwner, org_id: str, plan: str) -> None:
    async with httpx.AsyncClient(base_url=server.url) as api:
        moved = await api.put(
            f"/api/v1/admin/orgs/{org_id}/plan", json={"plan": plan}, headers=owner.headers
        )
    assert moved.status_code == 200, moved.text


@pytest.mark.parametrize("color_scheme", SCHEMES)
async def test_api_key__created__secret_shown_once_then_revoked(
    page: Page,
    live_server: Server,
    platform_owner: PlatformOwner,
    axe_violations: AxeViolations,
    screenshot: Screenshot,
) -> None:
    # Given an admin of an organization on a plan with API access, on the API keys page
    _visitor, org_id = await signed_up(page)
    await on_plan(live_server, platform_owner, org_id, "starter")
    await page.get_by_test_id("nav-api-keys").click()
    await expect(page).to_have_url(re.compile(f"/app/{org_id}/api-keys$"))
    await page.get_by_test_id("new-api-key-button").click()
    await screenshot(page, "settings-api-keys-new")
    await no_violations(page, axe_violations, "API keys (form open)")

    # When they create a key that may read projects
    await page.get_by_test_id("api-key-name-input").fill("Nightly export")
    await page.get_by_test_id("permission-projects-read").check()
    await page.get_by_test_id("create-api-key-button").click()

    # Then the secret is shown once, with the warning, and works on the API
    secret = (await page.get_by_test_id("api-key-secret").inner_text()).strip()
    assert secret.startswith("keel_")
    await expect(page.get_by_test_id("api-key-warning")).to_contain_text("shown only once")
    await screenshot(page, "settings-api-key-created")
    await no_violations(page, axe_violations, "API key created")
    async with httpx.AsyncClient(base_url=live_server.url) as api:
        bearer = {"Authorization": f"Bearer {secret}"}
        assert (await api.get(f"/api/v1/orgs/{org_id}/projects", headers=bearer)).status_code == 200

    # And the list shows the key by its prefix, never the secret again
    await page.get_by_test_id("api-key-done-link").click()
    await expect(page.get_by_test_id("api-key-row")).to_have_count(1)
    assert secret not in await page.content()
    await screenshot(page, "settings-api-keys")
    await no_violations(page, axe_violations, "API keys")

    # When they revoke it through the confirmation modal
    await page.get_by_test_id("revoke-key-0-open").click()
    await page.get_by_test_id("revoke-key-0-confirm").click()

    # Then it is listed as revoked and refused by the API
    await expect(page.get_by_test_id("api-key-row")).to_contain_text("Revoked")
    async with httpx.AsyncClient(base_url=live_server.url, timeout=TIMEOUT_MS / 1000) as api:
        refused = await api.get(f"/api/v1/orgs/{org_id}/projects", headers=bearer)
    assert refused.status_code == 401
