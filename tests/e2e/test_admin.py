"""The God dashboard in Chromium: the issue's test — a superadmin turns a flag on and the
member's page shows the feature after a reload — and every admin page under axe (WCAG 2.1
A/AA) in both themes, photographed at 1280 and 375 px.

The platform owner is made as an operator makes one (``keel create-superadmin`` against the
live server's database), turns on TOTP through the API, and logs in through the forms with
the password and a code from pyotp. That login happens once per worker (a TOTP code is
accepted once, so a second login within the same 30 seconds would be refused as a replay);
each test then gets the owner's cookies in a fresh context.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pyotp
import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import SCHEMES, AxeViolations, Member, Screenshot, new_context
from tests.e2e.steps import PlatformOwner
from tests.e2e.support import describe, log_in, new_visitor, sign_up
from tests.helpers.servers import Server


@dataclass(frozen=True)
class Owner:
    email: str
    user_id: str
    #: Bearer headers for set-up through the admin API.
    headers: dict[str, str]
    #: The browser session after the password + code login (Playwright's cookie dicts).
    cookies: list[Any]


async def log_in_with_code(page: Page, email: str, password: str, secret: str) -> None:
    await log_in(page, email, password)
    await expect(page).to_have_url(re.compile(r"/login/mfa$"))
    await page.get_by_test_id("code-input").fill(pyotp.TOTP(secret).now())
    await page.get_by_test_id("submit-button").click()
    await page.goto("/admin")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Platform overview")


@pytest.fixture(scope="session")
async def owner(browser: Browser, live_server: Server, platform_owner: PlatformOwner) -> Owner:
    """The worker's platform owner, also signed in through the forms with the password and a
    code from pyotp (the API enrollment used the previous step's code)."""
    headers = platform_owner.headers
    async with httpx.AsyncClient(base_url=live_server.url) as api:
        user_id = (await api.get("/api/v1/me", headers=headers)).json()["id"]
    context = await new_context(browser, live_server.url)
    email, password = platform_owner.email, platform_owner.password
    await log_in_with_code(await context.new_page(), email, password, platform_owner.totp.secret)
    cookies = list((await context.storage_state())["cookies"])
    await context.close()
    return Owner(email=email, user_id=user_id, headers=headers, cookies=cookies)


@pytest.fixture
async def owner_page(page: Page, owner: Owner) -> Page:
    """``page`` signed in as the platform owner (a fresh context: cold cache)."""
    await page.context.add_cookies(owner.cookies)
    return page


async def create_flag(server: Server, owner: Owner, **definition: Any) -> None:
    async with httpx.AsyncClient(base_url=server.url) as api:
        created = await api.post("/api/v1/admin/flags", json=definition, headers=owner.headers)
    assert created.status_code == 201, created.text


# ---- the test -------------------------------------------------------------------------


async def test_flag_on_in_god_dashboard__member_sees_feature_after_reload(
    owner_page: Page, browser: Browser, live_server: Server, owner: Owner
) -> None:
    # Given a member on their dashboard, in a second browser
    context = await new_context(browser, live_server.url)
    member = await context.new_page()
    await sign_up(member, new_visitor(name="Margaret Hamilton"))
    org_id = member.url.split("/")[-2]
    # And a flag of theirs, off, that announces a feature (for their organization only, so
    # no other test's dashboard changes)
    key = f"shared_boards_{uuid.uuid4().hex[:6]}"
    await create_flag(
        live_server,
        owner,
        key=key,
        name="Shared boards",
        description="Plan together on shared boards.",
        enabled=False,
        rollout_percentage=0.0,
        targeting={"include_organizations": [org_id]},
    )
    await member.reload()
    await expect(member.get_by_test_id(f"feature-{key}")).to_have_count(0)
    # When the superadmin turns the flag on in the God dashboard
    await owner_page.goto("/admin/flags")
    await owner_page.get_by_test_id(f"flag-toggle-{key}").click()
    # Then the row says so in place, with a toast
    await expect(owner_page.get_by_test_id(f"flag-state-{key}")).to_have_text("On")
    await expect(owner_page.get_by_test_id("toast")).to_contain_text(f"{key} is on.")
    await expect(owner_page.get_by_test_id(f"flag-toggle-{key}")).to_be_focused()
    # And the member sees the feature after a reload
    await member.reload()
    card = member.get_by_test_id(f"feature-{key}")
    await expect(card).to_be_visible()
    await expect(card).to_contain_text("Beta: Plan together on shared boards.")
    await context.close()


async def test_rollout_slider__value_shown_while_moving_and_saved(
    owner_page: Page, live_server: Server, owner: Owner
) -> None:
    key = f"slider_{uuid.uuid4().hex[:6]}"
    await create_flag(live_server, owner, key=key, rollout_percentage=10.0)
    await owner_page.goto(f"/admin/flags/{key}")
    slider = owner_page.get_by_label("Share of users who get it (%)")
    await slider.fill("35")
    await expect(owner_page.get_by_test_id("rollout-value")).to_have_text("35")
    await owner_page.get_by_test_id("save-rollout-button").click()
    await expect(owner_page.get_by_test_id("toast")).to_contain_text("35%")
    await expect(owner_page.get_by_test_id("flag-version")).to_have_text("2")


# ---- accessibility ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    org_id: str
    flag_key: str


@pytest.fixture(scope="session")
async def targets(live_server: Server, owner: Owner, member: Member) -> Targets:
    """An organization (the shared member's) and a flag with a history of three versions,
    off, so no dashboard shows it."""
    key = f"axe_{uuid.uuid4().hex[:6]}"
    await create_flag(
        live_server,
        owner,
        key=key,
        name="Reports",
        description="Deeper reports.",
        targeting={"rules": [{"attribute": "plan", "operator": "in", "value": ["starter"]}]},
    )
    async with httpx.AsyncClient(base_url=live_server.url) as api:
        for percentage in (50.0, 25.0):
            changed = await api.patch(
                f"/api/v1/admin/flags/{key}",
                json={"rollout_percentage": percentage},
                headers=owner.headers,
            )
            assert changed.status_code == 200, changed.text
    return Targets(org_id=member.dashboard.split("/")[-2], flag_key=key)


def admin_pages(owner: Owner, targets: Targets) -> list[tuple[str, str]]:
    return [
        ("admin-overview", "/admin"),
        ("admin-organizations", "/admin/organizations?q=grace"),
        ("admin-organization", f"/admin/organizations/{targets.org_id}"),
        ("admin-users", "/admin/users"),
        ("admin-user", f"/admin/users/{owner.user_id}"),
        ("admin-flags", "/admin/flags"),
        ("admin-flag", f"/admin/flags/{targets.flag_key}"),
        ("admin-plans", "/admin/plans"),
        ("admin-plan", "/admin/plans/starter"),
        ("admin-health", "/admin/health"),
    ]


@pytest.mark.parametrize("color_scheme", SCHEMES)
async def test_admin_pages__axe_wcag21aa__no_violations(
    owner_page: Page,
    owner: Owner,
    targets: Targets,
    axe_violations: AxeViolations,
    screenshot: Screenshot,
) -> None:
    failures = []
    for name, path in admin_pages(owner, targets):
        # When the platform owner opens the page, in this colour scheme
        response = await owner_page.goto(path)
        assert response is not None and response.status == 200, (path, response)
        await expect(owner_page.get_by_role("heading", level=1)).to_have_count(1)
        if name == "admin-flag":
            # the history's diffs open, as someone reading them would have them
            for summary in await owner_page.locator("details.diff > summary").all():
                await summary.click()
        await screenshot(owner_page, name)
        # Then axe finds no violation
        violations = await axe_violations(owner_page)
        if violations:
            failures.append(f"{path}:\n{describe(violations)}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("color_scheme", SCHEMES)
async def test_suspend_dialog__open__axe_clean_and_escape_closes(
    owner_page: Page, targets: Targets, axe_violations: AxeViolations
) -> None:
    await owner_page.goto(f"/admin/organizations/{targets.org_id}")
    await owner_page.get_by_test_id("suspend-open").click()
    dialog = owner_page.get_by_test_id("suspend-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_label("Reason (kept in the audit log)")).to_be_visible()
    violations = await axe_violations(owner_page)
    assert not violations, describe(violations)
    await owner_page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(owner_page.get_by_test_id("suspend-open")).to_be_focused()
