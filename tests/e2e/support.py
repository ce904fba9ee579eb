"""Plain helpers for the browser tests: the seed user, its journey's steps, keyboard moves
and axe-core. Fixtures live in ``conftest.py``; these take a Playwright page (steps outside
the browser: ``steps.py``)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any, cast
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, expect

#: axe-core as the ``axe-playwright-python`` wheel ships it: installed by ``uv sync`` from
#: PyPI, injected into each page, so no third-party request and no file in the repository.
AXE_SCRIPT = (resources.files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")
#: The rules issue 7 holds every page to: WCAG 2.0 and 2.1, levels A and AA.
WCAG_21_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
DASHBOARD_URL = re.compile(r"/app/[^/]+/dashboard$")
_DASHBOARD_ORG = re.compile(r"/app/([^/]+)/dashboard$")


@dataclass(frozen=True)
class Visitor:
    email: str
    password: str
    name: str


def new_visitor(**overrides: str) -> Visitor:
    """A visitor nobody has signed up as yet (the email is unique per call)."""
    values = {
        "email": f"e2e-{uuid.uuid4().hex[:12]}@example.com",
        "password": "violet-Harbor-71-quartz-lamp",
        "name": "Ada Lovelace",
    }
    return Visitor(**(values | overrides))


async def sign_up(page: Page, visitor: Visitor) -> None:
    """The journey's first half, by clicks: landing -> sign-up form -> the new dashboard."""
    await page.goto("/")
    await page.get_by_test_id("signup-button").click()
    await fill_sign_up(page, visitor)
    await page.get_by_test_id("submit-button").click()
    await expect(page).to_have_url(DASHBOARD_URL)


async def signed_up(page: Page, **overrides: str) -> tuple[Visitor, str]:
    """A new visitor (``new_visitor(**overrides)``) signed up in ``page``: them and their
    organization's id."""
    visitor = new_visitor(**overrides)
    await sign_up(page, visitor)
    found = _DASHBOARD_ORG.search(page.url)
    assert found, page.url
    return visitor, found.group(1)


async def log_in(page: Page, email: str, password: str) -> None:
    """The login form, filled and sent (what follows is the caller's to expect)."""
    await page.goto("/login")
    await page.get_by_test_id("email-input").fill(email)
    await page.get_by_test_id("password-input").fill(password)
    await page.get_by_test_id("submit-button").click()


async def fill_sign_up(page: Page, visitor: Visitor) -> None:
    await page.get_by_test_id("email-input").fill(visitor.email)
    await page.get_by_test_id("password-input").fill(visitor.password)
    await page.get_by_test_id("name-input").fill(visitor.name)


async def create_item(page: Page, title: str) -> None:
    await page.get_by_test_id("create-item-button").click()
    await page.get_by_test_id("item-title").fill(title)
    await page.get_by_test_id("save-item-button").click()


async def focused_test_id(page: Page) -> str | None:
    return cast(str | None, await page.evaluate("() => document.activeElement?.dataset.testid"))


async def tab_to(page: Page, test_id: str, *, limit: int = 40) -> None:
    """Move focus with Tab alone until the element ``data-testid=test_id`` has it; fails
    (naming the page) if it is not in the tab order within ``limit`` presses."""
    for _ in range(limit):
        if await focused_test_id(page) == test_id:
            return
        await page.keyboard.press("Tab")
    if await focused_test_id(page) != test_id:
        pytest.fail(f"[data-testid={test_id}] not reached with {limit} Tab presses on {page.url}")


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now (both themes: the
    caller's context picks the colour scheme)."""
    await page.evaluate(AXE_SCRIPT)
    violations = await page.evaluate(
        """(tags) => axe.run(document, {
            runOnly: {type: "tag", values: tags},
            resultTypes: ["violations"],
        }).then((results) => results.violations)""",
        list(WCAG_21_AA),
    )
    return cast(list[dict[str, Any]], violations)


async def no_violations(
    page: Page, axe: Callable[[Page], Awaitable[list[dict[str, Any]]]], name: str
) -> None:
    """Fails, naming ``name`` and the page, with axe's account of each violation (``axe``:
    the ``axe_violations`` fixture)."""
    violations = await axe(page)
    assert not violations, f"{name} ({page.url}):\n{describe(violations)}"


def describe(violations: list[dict[str, Any]]) -> str:
    """One paragraph per violated rule: rule, impact, help link, then each failing node's
    selector and axe's summary of what to fix."""
    lines: list[str] = []
    for violation in violations:
        lines.append(
            f"{violation['id']} ({violation['impact']}): {violation['help']} "
            f"<{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            summary = " ".join(str(node.get("failureSummary", "")).split())
            lines.append(f"    {' '.join(map(str, node['target']))}: {summary}")
    return "\n".join(lines)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
