"""Browser tests: a real ``keel serve`` driven through Debian's Chromium by Playwright.

Each xdist worker starts its own server (a fresh SQLite database under a tmp KEEL_DATA_DIR,
KEEL_ENV=development, the embedded job worker) and its own browser; each test gets a fresh
browser context, so cookies and cache never leak between tests. These tests exercise the
browser path, so they use the embedded SQLite database in the PostgreSQL CI pass as well.

Without Chromium the tests are skipped with the way to install it, except where
``KEEL_REQUIRE_BROWSER=1`` (CI), where a missing browser fails them.

Playwright's async API runs on the suite's session event loop (the sync API refuses to run
inside a running loop).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, async_playwright

from tests.conftest import ROOT
from tests.e2e.steps import LiveServer, PlatformOwner, serving
from tests.e2e.steps import platform_owner as make_platform_owner
from tests.e2e.support import Visitor, new_visitor, origin, sign_up
from tests.e2e.support import axe_violations as run_axe
from tests.helpers.servers import Server

#: Debian's package by default; KEEL_E2E_CHROMIUM names another build (Ubuntu: chromium-browser).
CHROMIUM = Path(os.environ.get("KEEL_E2E_CHROMIUM") or "/usr/bin/chromium")
#: Debian's Chromium as root in a container: no sandbox, no GPU, and nothing that phones
#: home (no third-party request may leave the machine, and none can here).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUIRE_BROWSER = os.environ.get("KEEL_REQUIRE_BROWSER") == "1"
SCREENSHOTS = ROOT / "var" / "screenshots"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 375, "height": 812}
#: A page or an assertion that takes longer than this is a failure, not a slow pass.
TIMEOUT_MS = 10_000

#: The platform owner's password (``platform_owner``).
OWNER_PASSWORD = "calm-Lighthouse-58-rope-dusk"

ColorScheme = Literal["light", "dark"]
#: Tests that check both themes: ``@pytest.mark.parametrize("color_scheme", SCHEMES)``.
SCHEMES: list[ColorScheme] = ["light", "dark"]
Screenshot = Callable[[Page, str], Awaitable[None]]
AxeViolations = Callable[[Page], Awaitable[list[dict[str, Any]]]]


@pytest.fixture(scope="session")
def chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    reason = (
        f"Chromium not found at {CHROMIUM}: the browser tests need Debian's package; "
        "`make browser` installs it when run as root (or: sudo apt-get install chromium)"
    )
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason}. KEEL_REQUIRE_BROWSER=1, so they may not be skipped here.")
    pytest.skip(reason)


@pytest.fixture(scope="session")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``keel serve`` as a developer runs it (``steps.serving``): with no SMTP configured it
    writes its mail to ``live_server.mail_dir``."""
    with serving(tmp_path_factory.mktemp("e2e")) as server:
        yield server


@pytest.fixture(scope="session")
async def platform_owner(live_server: LiveServer) -> PlatformOwner:
    """A platform owner of the live server (``keel create-superadmin``, TOTP on through the
    API), made once per worker: the only one who may change plans and flags."""
    return await make_platform_owner(live_server, OWNER_PASSWORD, name="Platform Owner")


@pytest.fixture
def color_scheme() -> ColorScheme:
    """Light unless a test parametrizes ``color_scheme`` itself."""
    return "light"


@dataclass
class Traffic:
    """What the browser asked for and what broke, checked when the test's context closes."""

    urls: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)


async def new_context(
    browser: Browser, base_url: str, color_scheme: ColorScheme = "light"
) -> BrowserContext:
    """A fresh context (no cookies, cold cache) as every test's: desktop, English, reduced
    motion, and a short default timeout."""
    context = await browser.new_context(
        base_url=base_url,
        color_scheme=color_scheme,
        viewport=DESKTOP,
        locale="en-US",
        reduced_motion="reduce",
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


@asynccontextmanager
async def checked_page(
    browser: Browser, base_url: str, color_scheme: ColorScheme, cookies: list[Any] | None = None
) -> AsyncIterator[Page]:
    """A page in a fresh context (with ``cookies``, if given); afterwards, every request must
    have gone to ``base_url``'s origin and no script may have thrown."""
    context = await new_context(browser, base_url, color_scheme)
    if cookies:
        await context.add_cookies(cookies)
    traffic = Traffic()
    context.on("request", lambda request: traffic.urls.append(request.url))
    page = await context.new_page()
    page.on("pageerror", lambda error: traffic.script_errors.append(str(error)))
    yield page
    await context.close()
    foreign = [url for url in traffic.urls if origin(url) != base_url]
    assert not foreign, f"requests left Keel's origin {base_url}: {foreign}"
    assert not traffic.script_errors, f"uncaught script errors: {traffic.script_errors}"


@pytest.fixture
async def page(
    browser: Browser, live_server: Server, color_scheme: ColorScheme
) -> AsyncIterator[Page]:
    """A fresh context (no cookies, cold cache) on the live server, checked afterwards."""
    async with checked_page(browser, live_server.url, color_scheme) as page:
        yield page


@dataclass(frozen=True)
class Member:
    """A user signed up once per worker through the form: their session and dashboard."""

    cookies: list[Any]  # Playwright's cookie dicts, as add_cookies takes them
    dashboard: str


@pytest.fixture(scope="session")
async def member(browser: Browser, live_server: Server) -> Member:
    return await signed_up_member(browser, live_server.url, new_visitor(name="Grace Hopper"))


async def signed_up_member(browser: Browser, base_url: str, visitor: Visitor) -> Member:
    """``visitor`` signed up by the form in a throwaway context: their session and
    dashboard."""
    context = await new_context(browser, base_url)
    try:
        page = await context.new_page()
        await sign_up(page, visitor)
        state = await context.storage_state()
        return Member(cookies=list(state["cookies"]), dashboard=page.url)
    finally:
        await context.close()


@pytest.fixture
async def member_page(page: Page, member: Member) -> Page:
    """``page`` signed in as ``member`` (their cookies in a fresh context: cold cache)."""
    await page.context.add_cookies(member.cookies)
    return page


@pytest.fixture
def axe_violations() -> AxeViolations:
    return run_axe


@pytest.fixture
def screenshot(color_scheme: ColorScheme) -> Screenshot:
    """``await screenshot(page, name)``: the full page at 1280 and 375 px wide, saved as
    var/screenshots/<name>-<scheme>-<width>.png (gitignored, for people to look at)."""

    async def take(page: Page, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for viewport in (DESKTOP, PHONE):
            await page.set_viewport_size(viewport)
            path = SCREENSHOTS / f"{name}-{color_scheme}-{viewport['width']}.png"
            await page.screenshot(path=path, full_page=True, animations="disabled")
        await page.set_viewport_size(DESKTOP)

    return take
