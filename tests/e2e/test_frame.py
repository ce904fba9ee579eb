"""The signed-in frame in Chromium: menus open and close from the keyboard, the theme button
says what it will do, and the open menus pass axe in both themes."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import SCHEMES, AxeViolations, ColorScheme, Member, Screenshot
from tests.e2e.support import describe


async def test_account_menu__keyboard__opens_and_escape_returns_focus(
    member_page: Page, member: Member
) -> None:
    # Given the dashboard, with focus on the account menu's button
    await member_page.goto(member.dashboard)
    summary = member_page.locator("[data-testid=user-menu] > summary")
    await summary.focus()
    # When Enter opens it
    await member_page.keyboard.press("Enter")
    logout = member_page.get_by_test_id("logout-button")
    await expect(logout).to_be_visible()
    # Then Tab reaches its items, and Escape closes it with focus back on its button
    await member_page.keyboard.press("Tab")
    assert await member_page.evaluate("() => !!document.activeElement.closest('.dropdown-menu')")
    await member_page.keyboard.press("Escape")
    await expect(logout).to_be_hidden()
    await expect(summary).to_be_focused()


async def test_org_switcher__lists_the_current_organization(
    member_page: Page, member: Member
) -> None:
    await member_page.goto(member.dashboard)
    await member_page.locator("[data-testid=org-switcher] > summary").click()
    current = member_page.locator("[data-testid=org-option][aria-current=true]")
    await expect(current).to_have_count(1)
    await current.click()
    await expect(member_page).to_have_url(member.dashboard)


@pytest.mark.parametrize("color_scheme", SCHEMES)
async def test_theme_toggle__names_the_theme_it_switches_to(
    member_page: Page, member: Member, color_scheme: ColorScheme
) -> None:
    # Given the system's colour scheme
    await member_page.goto(member.dashboard)
    toggle = member_page.get_by_test_id("theme-toggle")
    other = "light" if color_scheme == "dark" else "dark"
    # Then the button offers the other theme, and after a press offers this one back
    await expect(toggle).to_have_text(f"Switch to {other} theme")
    await toggle.click()
    await expect(member_page.locator("html")).to_have_attribute("data-theme", other)
    await expect(toggle).to_have_text(f"Switch to {color_scheme} theme")
    # And the choice survives a reload
    await member_page.reload()
    await expect(member_page.locator("html")).to_have_attribute("data-theme", other)


@pytest.mark.parametrize("color_scheme", SCHEMES)
async def test_open_menus__axe_wcag21aa__no_violations(
    member_page: Page, member: Member, axe_violations: AxeViolations, screenshot: Screenshot
) -> None:
    await member_page.goto(member.dashboard)
    for menu in ("org-switcher", "user-menu"):
        await member_page.locator(f"[data-testid={menu}] > summary").click()
    await screenshot(member_page, "frame-menus-open")
    violations = await axe_violations(member_page)
    assert not violations, describe(violations)


@pytest.mark.parametrize("path", ["/", "/signup", "dashboard"])
async def test_text_at_200_percent__no_horizontal_scroll(
    member_page: Page, member: Member, path: str
) -> None:
    """WCAG 1.4.4: text resized to 200 % (the root font size doubled, as a browser's text
    zoom does) loses nothing: the page reflows instead of scrolling sideways."""
    await member_page.goto(member.dashboard if path == "dashboard" else path)
    await member_page.evaluate("() => { document.documentElement.style.fontSize = '200%' }")
    overflow = await member_page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{path}: {overflow}px of horizontal scroll at 200 % text"
