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
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from playwright.async_api import Browser, Page, ViewportSize, async_playwright

from tests.cli.support import KEEL_BIN, free_port, process_env, stop
from tests.conftest import ROOT
from tests.e2e.support import axe_violations as run_axe
from tests.e2e.support import new_visitor, origin, sign_up
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

ColorScheme = Literal["light", "dark"]
Screenshot = Callable[[Page, str], Awaitable[None]]


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
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``keel serve`` on a free port of 127.0.0.1 as a developer runs it; it must log no
    traceback (a page that answered 500 fails the run here). Its log goes to a file: a pipe
    nobody reads would block the server once full."""
    data_dir = tmp_path_factory.mktemp("e2e")
    env: dict[str, str | None] = {key: None for key in os.environ if key.startswith("KEEL_")}
    env |= {
        "KEEL_ENV": "development",
        "KEEL_DATA_DIR": str(data_dir),
        "KEEL_LOG__FORMAT": "json",
        "KEEL_LOG__LEVEL": "WARNING",
    }
    log_path = data_dir / "serve.log"
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(KEEL_BIN), "serve", "--port", str(port)],
            env=process_env(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    server = Server(process, f"http://127.0.0.1:{port}")
    try:
        _wait_healthy(server, log_path)
        yield server
    finally:
        stop(process)
        output = log_path.read_text()
        assert "Traceback" not in output, output[-4000:]


def _wait_healthy(server: Server, log_path: Path, *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"keel serve exited {server.process.returncode}:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    pytest.fail(f"{server.url}/health did not answer within {timeout}s")


@pytest.fixture
def color_scheme() -> ColorScheme:
    """Light unless a test parametrizes ``color_scheme`` itself."""
    return "light"


@dataclass
class Traffic:
    """What the browser asked for and what broke, checked when the test's context closes."""

    urls: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)


@pytest.fixture
async def page(
    browser: Browser, live_server: Server, color_scheme: ColorScheme
) -> AsyncIterator[Page]:
    """A fresh context (no cookies, cold cache) on the live server; afterwards, every request
    must have gone to Keel's own origin and no script may have thrown."""
    context = await browser.new_context(
        base_url=live_server.url,
        color_scheme=color_scheme,
        viewport=DESKTOP,
        locale="en-US",
        reduced_motion="reduce",
    )
    context.set_default_timeout(TIMEOUT_MS)
    traffic = Traffic()
    context.on("request", lambda request: traffic.urls.append(request.url))
    page = await context.new_page()
    page.on("pageerror", lambda error: traffic.script_errors.append(str(error)))
    yield page
    await context.close()
    foreign = [url for url in traffic.urls if origin(url) != live_server.url]
    assert not foreign, f"requests left Keel's origin {live_server.url}: {foreign}"
    assert not traffic.script_errors, f"uncaught script errors: {traffic.script_errors}"


@dataclass(frozen=True)
class Member:
    """A user signed up once per worker through the form: their session and dashboard."""

    cookies: list[Any]  # Playwright's cookie dicts, as add_cookies takes them
    dashboard: str


@pytest.fixture(scope="session")
async def member(browser: Browser, live_server: Server) -> Member:
    context = await browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    await sign_up(page, new_visitor(name="Grace Hopper"))
    state = await context.storage_state()
    dashboard = page.url
    await context.close()
    return Member(cookies=list(state["cookies"]), dashboard=dashboard)


@pytest.fixture
async def member_page(page: Page, member: Member) -> Page:
    """``page`` signed in as ``member`` (their cookies in a fresh context: cold cache)."""
    await page.context.add_cookies(member.cookies)
    return page


@pytest.fixture
def axe_violations() -> Callable[[Page], Awaitable[list[dict[str, Any]]]]:
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
