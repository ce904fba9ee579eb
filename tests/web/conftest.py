"""Page tests through the ASGI app over https (the session cookie is ``__Host-``, Secure,
outside development, and a cookie jar sends Secure cookies over https only)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from keel.auth.service import throttle
from tests.web.helpers import page_client


@pytest.fixture(autouse=True)
def no_login_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """The login throttle's growing pause between attempts, made instant."""

    async def instant(_seconds: float) -> None:
        return None

    monkeypatch.setattr(throttle, "pause", instant)


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that behaves like a browser (``helpers.page_client``)."""
    async with page_client(app) as client:
        yield client


@pytest.fixture
async def other_browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser with its own cookies: another device of the same person, or the
    member someone else acts on."""
    async with page_client(app) as client:
        yield client
