"""Accounts in a real browser: logging in with two-factor (authenticator code, then a recovery
code), an invitation accepted by a newcomer in a second browser context, and axe on the pages
emails link to, in both colour schemes.

The invitation's token only exists in its email. The shared ``live_server`` has no SMTP
configured: in development Keel then writes each message to ``<data_dir>/mail/*.eml``
(``live_server.mail_dir``), and the test reads the link from there, as a developer would.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage

import httpx
import pyotp
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from keel.organizations import rules as organizations_rules
from tests.e2e import steps
from tests.e2e.conftest import (
    SCHEMES,
    TIMEOUT_MS,
    AxeViolations,
    ColorScheme,
    Screenshot,
    new_context,
    signed_up_member,
)
from tests.e2e.steps import LiveServer
from tests.e2e.support import (
    DASHBOARD_URL,
    Visitor,
    describe,
    fill_sign_up,
    log_in,
    new_visitor,
    sign_up,
)
from tests.helpers.servers import Server

_INVITATION_LINK = re.compile(r"/invitations/accept\?token=[A-Za-z0-9_\-]+")


async def invitation_link(server: LiveServer, to: str) -> str:
    """The accept link's path and query in the newest invitation to ``to`` (the mail names
    the default public URL's host)."""
    message = await steps.wait_for_mail(server.mail_dir, to=to, matching=_INVITATION_LINK)
    return invitation_path(message)


def invitation_path(message: EmailMessage) -> str:
    text = steps.plain_text(message)
    found = _INVITATION_LINK.search(text)
    assert found, text
    return found.group(0)


async def bearer_for(api: httpx.AsyncClient, visitor: Visitor) -> dict[str, str]:
    return await steps.bearer(api, visitor.email, visitor.password)


async def signed_up_elsewhere(browser: Browser, base_url: str, visitor: Visitor) -> str:
    """Sign ``visitor`` up by the form in a throwaway context; their dashboard's URL."""
    return (await signed_up_member(browser, base_url, visitor)).dashboard


@dataclass(frozen=True)
class TwoFactorUser:
    visitor: Visitor
    secret: str
    recovery_codes: list[str]


async def two_factor_user(browser: Browser, base_url: str) -> TwoFactorUser:
    """A user who signed up by the form, then turned TOTP on through the API (confirmed with
    the previous step's code, so the login's current code is still unused)."""
    visitor = new_visitor(name="Hedy Lamarr")
    await signed_up_elsewhere(browser, base_url, visitor)
    async with httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT_MS / 1000) as api:
        totp = await steps.enroll_totp(api, await bearer_for(api, visitor))
    return TwoFactorUser(visitor, totp.secret, totp.recovery_codes)


async def password_step(page: Page, visitor: Visitor) -> None:
    await log_in(page, visitor.email, visitor.password)
    await expect(page).to_have_url(re.compile(r"/login/mfa$"))


@pytest.fixture
async def two_factor(browser: Browser, live_server: Server) -> TwoFactorUser:
    return await two_factor_user(browser, live_server.url)


# ---- logging in with two-factor -----------------------------------------------------------------


async def test_login_with_mfa__authenticator_code__lands_on_the_dashboard(
    page: Page, two_factor: TwoFactorUser
) -> None:
    # Given a user with TOTP on, past the password step
    await password_step(page, two_factor.visitor)
    # When they enter the current code from their authenticator
    await page.get_by_test_id("code-input").fill(pyotp.TOTP(two_factor.secret).now())
    await page.get_by_test_id("submit-button").click()
    # Then they are on their dashboard, signed in
    await expect(page).to_have_url(DASHBOARD_URL)
    await expect(page.get_by_test_id("user-name")).to_have_text(two_factor.visitor.name)


async def test_login_with_mfa__recovery_code__lands_on_the_dashboard(
    page: Page, two_factor: TwoFactorUser
) -> None:
    # Given a user with TOTP on, past the password step, without their phone
    await password_step(page, two_factor.visitor)
    # When they choose the recovery-code option and enter one of their codes
    await page.get_by_test_id("use-recovery-code").click()
    await expect(page).to_have_url(re.compile(r"/login/mfa\?recovery=1$"))
    await page.get_by_test_id("recovery-code-input").fill(two_factor.recovery_codes[0])
    await page.get_by_test_id("submit-button").click()
    # Then they are on their dashboard, signed in
    await expect(page).to_have_url(DASHBOARD_URL)
    await expect(page.get_by_test_id("user-name")).to_have_text(two_factor.visitor.name)


# ---- an invitation accepted in a second browser context -----------------------------------------


@pytest.fixture
async def contexts(
    browser: Browser, live_server: LiveServer
) -> AsyncIterator[list[BrowserContext]]:
    """Two separate browsers (cookie jars) on the live server: the admin's and the invitee's."""
    opened = [await new_context(browser, live_server.url) for _ in range(2)]
    yield opened
    for context in opened:
        await context.close()


async def test_invitation__newcomer_accepts_in_a_second_context__lands_on_the_org_dashboard(
    contexts: list[BrowserContext], live_server: LiveServer, screenshot: Screenshot
) -> None:
    # Given an admin signed in in one browser, who invites a new address
    admin, invitee = new_visitor(name="Ada Admin"), new_visitor(name="Grace Hopper")
    admin_page = await contexts[0].new_page()
    await sign_up(admin_page, admin)
    org_name = organizations_rules.personal_organization_name(admin.name)
    org_id = admin_page.url.split("/")[-2]
    async with httpx.AsyncClient(base_url=live_server.url, timeout=TIMEOUT_MS / 1000) as api:
        invited = await api.post(
            f"/api/v1/orgs/{org_id}/invitations",
            json={"email": invitee.email, "role": "member"},
            headers=await bearer_for(api, admin),
        )
        assert invited.status_code == 201, invited.text
    link = await invitation_link(live_server, invitee.email)

    # When the invitee opens the emailed link in another browser
    page = await contexts[1].new_page()
    await page.goto(link)
    # Then it names the organization, and offers to create an account
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Join {org_name}")

    # When they create an account with the invited address
    await page.get_by_test_id("create-account-to-accept").click()
    await expect(page).to_have_url(re.compile(r"/signup\?next="))
    await fill_sign_up(page, invitee)
    await page.get_by_test_id("submit-button").click()
    # Then they are back on the invitation, signed in, and may accept it
    await expect(page).to_have_url(re.compile(re.escape(link) + "$"))
    await expect(page.get_by_test_id("accept-invitation-button")).to_be_visible()

    # When they accept
    await page.get_by_test_id("accept-invitation-button").click()
    # Then they are on that organization's dashboard, which shows its name
    await expect(page).to_have_url(re.compile(rf"/app/{org_id}/dashboard$"))
    await expect(page.get_by_test_id("org-name")).to_have_text(org_name)
    await expect(page.get_by_test_id("toast").first).to_contain_text(f"Welcome to {org_name}")
    await screenshot(page, "accounts-invitation-accepted")


# ---- axe, both colour schemes --------------------------------------------------------------------

#: (screenshot name, path, expected status): the link pages render for any token shape; a
#: token is only checked when its button is pressed.
LINK_PAGES = [
    ("accounts-forgot-password", "/password/forgot", 200),
    ("accounts-reset-password", "/reset-password?token=e2e-example-token", 200),
    ("accounts-verify-email", "/verify-email?token=e2e-example-token", 200),
    ("accounts-verify-email-invalid", "/verify-email", 400),
    ("accounts-unlock", "/unlock?token=e2e-example-token", 200),
]


async def assert_no_violations(page: Page, axe_violations: AxeViolations) -> None:
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    violations = await axe_violations(page)
    assert not violations, f"{page.url}:\n{describe(violations)}"


@pytest.mark.parametrize("color_scheme", SCHEMES)
@pytest.mark.parametrize(("name", "path", "status"), LINK_PAGES)
async def test_link_page__axe_wcag21aa__no_violations(
    page: Page,
    axe_violations: AxeViolations,
    screenshot: Screenshot,
    name: str,
    path: str,
    status: int,
) -> None:
    response = await page.goto(path)
    assert response is not None and response.status == status
    await screenshot(page, name)
    await assert_no_violations(page, axe_violations)


@pytest.mark.parametrize("color_scheme", SCHEMES)
async def test_mfa_step__both_modes__axe_no_violations(
    page: Page, two_factor: TwoFactorUser, axe_violations: AxeViolations, screenshot: Screenshot
) -> None:
    # Given a login waiting for its second factor
    await password_step(page, two_factor.visitor)
    # Then the code step passes axe, and so does its recovery-code mode
    await screenshot(page, "accounts-mfa")
    await assert_no_violations(page, axe_violations)
    await page.get_by_test_id("use-recovery-code").click()
    await expect(page.get_by_test_id("recovery-code-input")).to_be_visible()
    await screenshot(page, "accounts-mfa-recovery")
    await assert_no_violations(page, axe_violations)


@pytest.mark.parametrize("color_scheme", SCHEMES)
async def test_invitation_page__signed_out__axe_no_violations(
    browser: Browser,
    live_server: LiveServer,
    color_scheme: ColorScheme,
    axe_violations: AxeViolations,
    screenshot: Screenshot,
) -> None:
    # Given a real invitation, opened by someone not signed in
    admin = new_visitor(name="Ada Admin")
    invitee_email = new_visitor().email
    dashboard = await signed_up_elsewhere(browser, live_server.url, admin)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=TIMEOUT_MS / 1000) as api:
        invited = await api.post(
            f"/api/v1/orgs/{dashboard.split('/')[-2]}/invitations",
            json={"email": invitee_email, "role": "guest"},
            headers=await bearer_for(api, admin),
        )
        assert invited.status_code == 201, invited.text
    link = await invitation_link(live_server, invitee_email)
    context = await new_context(browser, live_server.url, color_scheme)
    try:
        page = await context.new_page()
        response = await page.goto(link)
        # Then the page answers, offers the way in, and axe finds no violation
        assert response is not None and response.status == 200
        await expect(page.get_by_test_id("login-to-accept")).to_be_visible()
        await screenshot(page, "accounts-invitation")
        await assert_no_violations(page, axe_violations)
    finally:
        await context.close()
