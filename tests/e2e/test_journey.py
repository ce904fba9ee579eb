"""The seed's journey in a real browser: sign up from the landing page, land on a ready
dashboard, create an item; by mouse, by keyboard alone, and without JavaScript."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import TIMEOUT_MS, Screenshot
from tests.e2e.support import (
    DASHBOARD_URL,
    create_item,
    fill_sign_up,
    new_visitor,
    origin,
    tab_to,
)
from tests.helpers.servers import Server


async def test_journey__visitor_signs_up_and_creates_an_item__item_listed_first(
    page: Page, screenshot: Screenshot
) -> None:
    # Given a visitor on the landing page
    visitor = new_visitor()
    await page.goto("/")

    # When they sign up through the form
    await page.get_by_test_id("signup-button").click()
    await fill_sign_up(page, visitor)
    await page.get_by_test_id("submit-button").click()

    # Then they are on their new organization's dashboard, greeted by the name they gave,
    # and the sample project's documents are listed
    await expect(page).to_have_url(DASHBOARD_URL)
    await expect(page.get_by_test_id("user-name")).to_have_text(visitor.name)
    await expect(page.get_by_test_id("item-0-title")).to_be_visible()

    # When they create an item
    await create_item(page, "Launch checklist")

    # Then it is listed first, above the sample documents, and still is after a reload
    await expect(page.get_by_test_id("item-0-title")).to_have_text("Launch checklist")
    await expect(page.get_by_test_id("item-1-title")).to_be_visible()
    await page.reload()
    await expect(page.get_by_test_id("item-0-title")).to_have_text("Launch checklist")
    await screenshot(page, "journey-dashboard")


async def test_journey__keyboard_only__same_outcome(page: Page) -> None:
    # Given a visitor who uses the keyboard alone (Tab, Enter, typing; no clicks)
    visitor = new_visitor(name="Katherine Johnson")
    await page.goto("/")

    # When they sign up
    await tab_to(page, "signup-button")
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("email-input")).to_be_visible()
    for test_id, text in (
        ("email-input", visitor.email),
        ("password-input", visitor.password),
        ("name-input", visitor.name),
    ):
        await tab_to(page, test_id)
        await page.keyboard.type(text)
    await tab_to(page, "submit-button")
    await page.keyboard.press("Enter")

    # Then they reach their dashboard
    await expect(page).to_have_url(DASHBOARD_URL)
    await expect(page.get_by_test_id("user-name")).to_have_text(visitor.name)

    # When they create an item
    await tab_to(page, "create-item-button")
    await page.keyboard.press("Enter")
    await tab_to(page, "item-title")
    await page.keyboard.type("Typed, not clicked")
    await tab_to(page, "save-item-button")
    await page.keyboard.press("Enter")

    # Then it is listed first
    await expect(page.get_by_test_id("item-0-title")).to_have_text("Typed, not clicked")


@pytest.fixture
async def page_without_javascript(browser: Browser, live_server: Server) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    yield await context.new_page()
    await context.close()
    assert {origin(url) for url in requested} <= {live_server.url}, requested


async def test_journey__javascript_disabled__same_outcome(page_without_javascript: Page) -> None:
    # Given a browser with JavaScript turned off (plain forms and redirects only)
    page = page_without_javascript
    visitor = new_visitor(name="Mary Jackson")

    # When the visitor signs up and creates an item
    await page.goto("/")
    await page.get_by_test_id("signup-button").click()
    await fill_sign_up(page, visitor)
    await page.get_by_test_id("submit-button").click()
    await expect(page).to_have_url(DASHBOARD_URL)
    await create_item(page, "Works without scripts")

    # Then the item is listed first on the dashboard
    await expect(page.get_by_test_id("user-name")).to_have_text(visitor.name)
    await expect(page.get_by_test_id("item-0-title")).to_have_text("Works without scripts")
