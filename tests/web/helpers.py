"""Small steps of a browser session: read a form's CSRF token, send a form, sign up, log in."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from tests.helpers.tenancy import PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TESTID = r'data-testid="{}"[^>]*>([^<]*)<'
STRONG_PASSWORD = "a long and quiet harbour at dawn"


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def text_at(html: str, testid: str) -> str | None:
    found = re.search(_TESTID.format(re.escape(testid)), html)
    return found.group(1) if found else None


async def submit(
    browser: httpx.AsyncClient, page: str, action: str | None = None, **fields: Any
) -> httpx.Response:
    """GET ``page`` (which sets the session cookie) and POST its form with the page's token."""
    shown = await browser.get(page)
    assert shown.status_code == 200, shown.text
    return await browser.post(action or page, data={"csrf_token": csrf_of(shown.text), **fields})


async def sign_up(
    browser: httpx.AsyncClient,
    *,
    email: str | None = None,
    name: str = "Ada Lovelace",
    password: str = STRONG_PASSWORD,
) -> httpx.Response:
    return await submit(
        browser,
        "/signup",
        email=email or f"ada-{uuid.uuid4().hex[:8]}@example.com",
        name=name,
        password=password,
    )


async def log_in(
    browser: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> httpx.Response:
    return await submit(browser, "/login", email=email, password=password)
