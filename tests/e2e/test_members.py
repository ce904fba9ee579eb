"""The organization admin pages in Chromium: an admin invites someone through the members
page, the invited person joins (through the API, with the emailed link's token), and the
admin changes their role and removes them by keyboard alone, the removal confirmed in the
modal. Then axe (WCAG 2.1 A/AA) in both colour schemes on every page of the area, each
screenshotted."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e import steps
from tests.e2e.conftest import DESKTOP, PHONE, TIMEOUT_MS, Screenshot
from tests.e2e.steps import LiveServer
from tests.e2e.support import axe_violations, describe, new_visitor, signed_up, tab_to

_TOKEN = re.compile(r"/invitations/accept\?token=([\w-]+)")


async def admin_signed_up(page: Page) -> str:
    """A new admin (their personal organization) signed in on ``page``; its id."""
    _admin, org_id = await signed_up(page, name="Ada Admin")
    return org_id


async def invite(page: Page, org_id: str, email: str, role: str = "member") -> None:
    await page.goto(f"/app/{org_id}/members")
    await page.get_by_test_id("invite-email").fill(email)
    await page.get_by_test_id("invite-role").select_option(role)
    await page.get_by_test_id("invite-submit").click()
    row = page.get_by_test_id("invitation-row").filter(has_text=email)
    await expect(row).to_be_visible()


async def join_by_the_emailed_link(server: LiveServer, email: str) -> None:
    """The invited person registers, logs in and accepts, through the API (the accept page
    is another part of the app), with the token of the link the server mailed."""
    visitor = new_visitor(email=email, name="Grace Hopper")
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT_MS / 1000) as api:
        registered = await api.post(
            "/api/v1/auth/register",
            json={"email": email, "password": visitor.password, "name": visitor.name},
        )
        assert registered.status_code == 201, registered.text
        headers = await steps.bearer(api, email, visitor.password)
        token = await emailed_token(server, email)
        accepted = await api.post(
            "/api/v1/invitations/accept", json={"token": token}, headers=headers
        )
        assert accepted.status_code == 200, accepted.text


async def emailed_token(server: LiveServer, email: str) -> str:
    """The invitation token of the newest mail to ``email`` that carries one."""
    message = await steps.wait_for_mail(server.mail_dir, to=email, matching=_TOKEN)
    found = _TOKEN.search(steps.plain_text(message))
    assert found
    return found.group(1)


async def test_members__invite_join_change_role_and_remove_by_keyboard(
    page: Page, live_server: LiveServer
) -> None:
    # Given an admin who invites someone through the members page
    org_id = await admin_signed_up(page)
    email = new_visitor().email
    await invite(page, org_id, email)
    # When the invited person joins with the emailed link
    await join_by_the_emailed_link(live_server, email)
    await page.goto(f"/app/{org_id}/members")
    member = page.get_by_test_id("member-row").filter(has_text=email)
    await expect(member).to_be_visible()
    await expect(page.get_by_test_id("invitation-row")).to_have_count(0)

    # And the admin makes them a manager, by keyboard alone
    await tab_to(page, "member-1-role", limit=80)
    await page.keyboard.press("ArrowDown")  # member -> manager
    await expect(page.get_by_test_id("member-1-role")).to_have_value("manager")
    await tab_to(page, "member-1-save")
    await page.keyboard.press("Enter")

    # Then the role is saved
    await expect(page.get_by_test_id("toast").first).to_contain_text("is now manager")
    await expect(page.get_by_test_id("member-1-role")).to_have_value("manager")

    # When they remove them, confirming in the modal by keyboard
    await tab_to(page, "member-1-remove-open", limit=80)
    await page.keyboard.press("Enter")
    dialog = page.get_by_test_id("member-1-remove")
    await expect(dialog).to_be_visible()
    await tab_to(page, "member-1-remove-confirm")
    await page.keyboard.press("Enter")

    # Then the admin is the only member left
    await expect(page.get_by_test_id("toast").first).to_contain_text("Member removed")
    await expect(page.get_by_test_id("member-row")).to_have_count(1)


async def test_members__revoke_modal_escape__closes_and_focus_returns(page: Page) -> None:
    org_id = await admin_signed_up(page)
    await invite(page, org_id, new_visitor().email)
    await page.get_by_test_id("invitation-0-revoke-open").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("invitation-0-revoke")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(page.get_by_test_id("invitation-0-revoke")).to_be_hidden()
    await expect(page.get_by_test_id("invitation-0-revoke-open")).to_be_focused()


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
async def test_admin_pages__axe_wcag21aa__no_violations(
    page: Page, screenshot: Screenshot, color_scheme: str
) -> None:
    # Given an admin with an invitation, a team, a policy and an explained decision
    org_id = await admin_signed_up(page)
    base = f"/app/{org_id}"
    await invite(page, org_id, new_visitor().email, role="manager")
    await check(page, screenshot, "members-members")

    await page.goto(f"{base}/teams")
    await page.get_by_test_id("team-name").fill("Engines")
    await page.get_by_test_id("team-submit").click()
    await expect(page.get_by_test_id("team-title")).to_have_text("Engines")
    await check(page, screenshot, "members-team")
    await page.goto(page.url + "/delete")  # the confirmation without JavaScript
    await check(page, screenshot, "members-confirm")
    await page.goto(f"{base}/teams")
    await check(page, screenshot, "members-teams")

    await page.goto(f"{base}/access/roles/new")
    await check(page, screenshot, "members-role")
    await page.goto(f"{base}/access/policies/new")
    await check(page, screenshot, "members-policy")
    await page.get_by_test_id("policy-name").fill("Office hours")
    await page.get_by_test_id("policy-permission").select_option("documents:write")
    await page.get_by_test_id("policy-conditions").fill(
        '[{"type": "time_window", "start": "08:00", "end": "18:00", "zone": "UTC"}]'
    )
    await page.get_by_test_id("policy-submit").click()
    await expect(page.get_by_test_id("policy-row")).to_have_count(1)
    await page.get_by_test_id("explain-user").select_option(index=1)
    await page.get_by_test_id("explain-permission").select_option("documents:write")
    await page.get_by_test_id("explain-submit").click()
    await expect(page.get_by_test_id("explain-result")).to_be_visible()
    await check(page, screenshot, "members-access")

    await page.goto(f"{base}/settings")
    await check(page, screenshot, "members-settings")
    await page.get_by_test_id("org-delete-open").click()
    await expect(page.get_by_test_id("org-delete")).to_be_visible()
    await check(page, screenshot, "members-settings-delete")


async def check(page: Page, screenshot: Screenshot, name: str) -> None:
    """No axe violation, no horizontal scroll on a phone (wide tables scroll in their own
    box), and the screenshots."""
    violations = await axe_violations(page)
    assert not violations, f"{name}:\n{describe(violations)}"
    await page.set_viewport_size(PHONE)
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} scrolls sideways at {PHONE['width']}px: {width}px"
    await page.set_viewport_size(DESKTOP)
    await screenshot(page, name)
