"""WCAG 2.1 A/AA on every page of the slice, in both themes, by axe-core in Chromium; each
page is also photographed at 1280 and 375 px (var/screenshots/) for people to look at."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import SCHEMES, AxeViolations, Member, Screenshot
from tests.e2e.support import describe, no_violations

#: (screenshot name, path, expected status) of the public pages
PUBLIC_PAGES = [
    ("landing", "/", 200),
    ("signup", "/signup", 200),
    ("login", "/login", 200),
    ("not-found", "/no-such-page", 404),
]


@pytest.mark.parametrize("color_scheme", SCHEMES)
@pytest.mark.parametrize(("name", "path", "status"), PUBLIC_PAGES)
async def test_public_page__axe_wcag21aa__no_violations(
    page: Page,
    axe_violations: AxeViolations,
    screenshot: Screenshot,
    name: str,
    path: str,
    status: int,
) -> None:
    # Given a visitor who is not signed in, in this colour scheme
    # When they open the page
    response = await page.goto(path)

    # Then it answers as expected, declares its language, and axe finds no violation
    assert response is not None
    assert response.status == status
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await screenshot(page, name)
    await no_violations(page, axe_violations, path)


@pytest.mark.parametrize("color_scheme", SCHEMES)
async def test_dashboard__axe_wcag21aa__no_violations(
    member_page: Page, member: Member, axe_violations: AxeViolations, screenshot: Screenshot
) -> None:
    # Given a signed-in member, in this colour scheme
    # When they open their dashboard
    response = await member_page.goto(member.dashboard)

    # Then axe finds no violation
    assert response is not None
    assert response.status == 200
    await screenshot(member_page, "dashboard")
    violations = await axe_violations(member_page)
    assert not violations, f"dashboard ({member.dashboard}):\n{describe(violations)}"


@pytest.mark.parametrize("color_scheme", SCHEMES)
async def test_problem_page__form_posted_with_forged_csrf_token__403_page_without_violations(
    page: Page, axe_violations: AxeViolations, screenshot: Screenshot
) -> None:
    # Given the log-in form whose CSRF token was tampered with (as a forged form would be)
    await page.goto("/login")
    await page.get_by_test_id("email-input").fill("ada@example.com")
    await page.get_by_test_id("password-input").fill("violet-Harbor-71-quartz-lamp")
    await page.locator("input[name=csrf_token]").evaluate("(input) => { input.value = 'forged' }")

    # When it is submitted
    async with page.expect_response(lambda response: response.request.method == "POST") as sent:
        await page.get_by_test_id("submit-button").click()

    # Then the answer is the 403 problem page, in the same design and without violations
    assert (await sent.value).status == 403
    await screenshot(page, "forbidden")
    violations = await axe_violations(page)
    assert not violations, f"403 page:\n{describe(violations)}"


@pytest.mark.parametrize("path", ["/", "/signup", "/login"])
async def test_skip_link__first_tab_then_enter__lands_in_main(page: Page, path: str) -> None:
    # Given a keyboard user on a page
    await page.goto(path)

    # When they press Tab once
    await page.keyboard.press("Tab")

    # Then a visible link to the main content has focus, and Enter takes them there
    skip = page.locator(":focus")
    await expect(skip).to_be_visible()
    target = await skip.get_attribute("href")
    assert target is not None
    assert target.startswith("#"), f"the first Tab on {path} focuses {target!r}, not a skip link"
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(f"{re.escape(target)}$"))
    in_main = await page.evaluate(
        "(id) => !!document.getElementById(id)?.closest('main')", target.removeprefix("#")
    )
    assert in_main, f"the skip link on {path} points at {target}, which is not in <main>"
