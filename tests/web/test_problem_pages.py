"""Problems as pages for people, problem JSON for the API and machines: the same error,
rendered once, in the site's design (404, 403, 429, 500)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from keel.config import Settings
from keel.kit.deps import Resources
from keel.kit.errors import RateLimited
from keel.main import create_app

boom = APIRouter()


@boom.get("/boom")
async def explode() -> None:
    raise RuntimeError("a bug")


@boom.get("/busy")
async def busy() -> None:
    raise RateLimited("Slow down; try again shortly.", retry_after=7, limit=10, window=60)


@pytest.fixture
async def probe(settings: Settings, resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    """The app with two probe pages: one with a bug, one over its rate limit."""
    from asgi_lifespan import LifespanManager

    app: FastAPI = create_app(settings, resources=resources, run_worker=False)
    app.include_router(boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=transport, base_url="https://testserver") as client,
    ):
        yield client


async def test_unknown_page__browser__404_page_in_the_design(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert '<html lang="en">' in html and 'href="#main"' in html
    assert 'data-code="not_found"' in html
    assert "/static/css/keel.css" in html
    assert f"Request ID: {response.headers['x-request-id']}" in html
    assert response.headers["content-security-policy"].startswith("default-src 'self'")


async def test_unknown_page__json_client__problem_json(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/no/such/page", headers={"accept": "application/json"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("path", ["/api/v1/no-such-route", "/api/v1/me"])
async def test_api__browser__still_problem_json(browser: httpx.AsyncClient, path: str) -> None:
    response = await browser.get(path)
    assert response.status_code in {401, 404}
    assert response.headers["content-type"] == "application/problem+json"


async def test_unhandled_error__browser__500_page_without_internals(
    probe: httpx.AsyncClient,
) -> None:
    response = await probe.get("/boom", headers={"accept": "text/html"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert 'data-code="internal_error"' in response.text
    assert "a bug" not in response.text and "RuntimeError" not in response.text
    assert response.headers["x-request-id"] in response.text


async def test_rate_limited__browser__429_page_keeps_retry_after(
    probe: httpx.AsyncClient,
) -> None:
    response = await probe.get("/busy", headers={"accept": "text/html"})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert "Try again in 7 seconds" in response.text


async def test_problem_page__head__headers_without_body(browser: httpx.AsyncClient) -> None:
    response = await browser.head("/no/such/page")
    assert response.status_code == 404
    assert response.content == b""
    assert int(response.headers["content-length"]) > 0
