"""Small steps of a browser session: read a form's CSRF token, send a form, sign up, log in;
an organization's admin signed in; TOTP turned on through the service."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pyotp
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.auth.service import mfa
from keel.config import Settings
from keel.kit import clock
from keel.kit.security import KeyRing
from keel.organizations.models import Organization
from keel.users.models import User
from tests.helpers.tenancy import PASSWORD, make_org, make_user

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TESTID = r'data-testid="{}"[^>]*>([^<]*)<'
STRONG_PASSWORD = "a long and quiet harbour at dawn"
#: What a browser's ``Accept`` says on a page load.
HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@asynccontextmanager
async def page_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that behaves like a browser: cookies kept, redirects not followed (tests
    check each hop), HTML accepted, over https (``__Host-`` cookies are Secure)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://testserver", headers=HTML
    ) as client:
        yield client


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


async def admin_signed_in(
    browser: httpx.AsyncClient, db: AsyncSession, *, plan: str | None = None
) -> tuple[User, Organization]:
    """An organization (on ``plan``) and its admin, logged in through the form."""
    user = await make_user(db, name="Ada Admin")
    org = await make_org(db, user, name="Analytical Engines", plan=plan)
    response = await log_in(browser, user.email)
    assert response.status_code == 303, response.text
    return user, org


async def with_totp(db: AsyncSession, settings: Settings, user: User) -> tuple[str, list[str]]:
    """TOTP confirmed through the service with the previous step's code (so the current one
    still logs in): the secret and the recovery codes."""
    keyring = KeyRing.from_settings(settings)
    enrollment = await mfa.start_enrollment(db, Actor.system(), user, keyring=keyring)
    code = pyotp.TOTP(enrollment.secret).at(clock.now() - timedelta(seconds=30))
    codes = await mfa.confirm_enrollment(db, Actor.system(), user, code=code, keyring=keyring)
    return enrollment.secret, codes
