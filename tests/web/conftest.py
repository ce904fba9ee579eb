"""Page tests through the ASGI app over https (the session cookie is ``__Host-``, Secure,
outside development, and a cookie jar sends Secure cookies over https only)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from keel.auth.service import throttle


@pytest.fixture(autouse=True)
def no_login_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """The login throttle's growing pause between attempts, made instant."""

    async def instant(_seconds: float) -> None:
        return None

    monkeypatch.setattr(throttle, "pause", instant)


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that behaves like a browser: cookies kept, redirects not followed (tests
    check each hop), HTML accepted."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="https://testserver",
        headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    ) as client:
        yield client
