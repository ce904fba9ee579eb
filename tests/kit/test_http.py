"""The HTTP contract every endpoint inherits: problem JSON for each kind of bad request,
request ids, security headers, and a 500 that leaks nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy.exc
from asgi_lifespan import LifespanManager
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.kit.deps import Resources
from keel.kit.routing import api_router
from keel.main import create_app
from tests.helpers.app import client_for
from tests.helpers.tenancy import make_caller

probe = api_router(prefix="/probe")


class Widget(BaseModel):
    name: str = Field(min_length=1, max_length=20)
    size: int = Field(ge=1)


@probe.post("/widgets", status_code=201)
async def create_widget(widget: Widget) -> Widget:
    return widget


@probe.get("/boom")
async def boom() -> None:
    raise RuntimeError("database password is hunter2 at /srv/secret.py line 7")


@pytest.fixture
async def probe_client(
    settings: Settings, resources: Resources
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(settings, resources, probe, raise_app_exceptions=False) as c:
        yield c


#: The headers CONTRACT.md puts on every rate-limited answer (a refusal adds Retry-After).
RATE_LIMIT_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "RateLimit-Policy",
    "RateLimit",
)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["type"] == f"/problems/{code}"
    assert body["code"] == code
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


async def test_valid_json__created(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post("/api/v1/probe/widgets", json={"name": "a", "size": 2})
    assert response.status_code == 201
    assert response.json() == {"name": "a", "size": 2}


async def test_malformed_json__400_malformed_json(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post(
        "/api/v1/probe/widgets",
        content=b'{"name": "a", "size": ',
        headers={"content-type": "application/json"},
    )
    body = assert_problem(response, 400, "malformed_json")
    assert body["errors"] == [{"field": "body", "message": body["errors"][0]["message"]}]  # type: ignore[index]


async def test_invalid_fields__422_lists_each_field(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post("/api/v1/probe/widgets", json={"name": "", "size": 0})
    body = assert_problem(response, 422, "validation_error")
    fields = sorted(e["field"] for e in body["errors"])  # type: ignore[attr-defined]
    assert fields == ["body.name", "body.size"]


async def test_invalid_fields__input_values_not_echoed(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post(
        "/api/v1/probe/widgets", json={"name": "s3cr3t-value-xyz" * 3, "size": 1}
    )
    assert_problem(response, 422, "validation_error")
    assert "s3cr3t-value-xyz" not in response.text


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
async def test_wrong_content_type__415(probe_client: httpx.AsyncClient, content_type: str) -> None:
    response = await probe_client.post(
        "/api/v1/probe/widgets", content=b"name=a&size=2", headers={"content-type": content_type}
    )
    assert_problem(response, 415, "unsupported_media_type")


async def test_json_suffix_media_type__accepted(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post(
        "/api/v1/probe/widgets",
        content=b'{"name": "a", "size": 1}',
        headers={"content-type": "application/merge-patch+json; charset=utf-8"},
    )
    assert response.status_code == 201


async def test_oversize_body__413(probe_client: httpx.AsyncClient, settings: Settings) -> None:
    big = b'{"name": "' + b"x" * settings.http.max_body_bytes + b'", "size": 1}'
    response = await probe_client.post(
        "/api/v1/probe/widgets", content=big, headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "payload_too_large")


async def test_oversize_chunked_body__413(
    probe_client: httpx.AsyncClient, settings: Settings
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(settings.http.max_body_bytes // 65536 + 2):
            yield b" " * 65536

    response = await probe_client.post(
        "/api/v1/probe/widgets", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "payload_too_large")


async def test_unknown_route__404(probe_client: httpx.AsyncClient) -> None:
    assert_problem(await probe_client.get("/api/v1/nothing-here"), 404, "not_found")


async def test_wrong_method__405_with_allow(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.delete("/api/v1/probe/widgets")
    assert_problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]


async def test_unhandled_exception__500_leaks_nothing(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get("/api/v1/probe/boom", headers={"X-Request-ID": "req-42"})
    body = assert_problem(response, 500, "internal_error")
    assert "hunter2" not in response.text and "secret.py" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["x-request-id"] == "req-42"
    assert set(body) == {"type", "title", "status", "detail", "code"}


async def test_unhandled_exception__logged_with_request_id(
    probe_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    await probe_client.get("/api/v1/probe/boom", headers={"X-Request-ID": "req-log-7"})
    entries = [r.msg for r in caplog.records if isinstance(r.msg, dict)]
    entry = next(e for e in entries if e["event"] == "http.unhandled_error")
    assert entry["request_id"] == "req-log-7"
    assert entry["exc_info"] is True


async def test_request_id__generated_when_absent_or_invalid(
    probe_client: httpx.AsyncClient,
) -> None:
    first = await probe_client.get("/health")
    bad = await probe_client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert len(first.headers["x-request-id"]) == 32
    assert bad.headers["x-request-id"] != "bad id\twith spaces"


@pytest.mark.parametrize("path", ["/health", "/api/v1/nothing", "/api/v1/probe/boom"])
async def test_security_headers__on_every_response(
    probe_client: httpx.AsyncClient, path: str
) -> None:
    headers = (await probe_client.get(path)).headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize(
    ("env", "hsts"), [("production", True), ("test", True), ("development", False)]
)
async def test_hsts__only_outside_development(
    settings: Settings, resources: Resources, env: str, hsts: bool
) -> None:
    app = create_app(
        settings.model_copy(update={"env": env}), resources=resources, run_worker=False
    )
    async with (
        LifespanManager(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as c,
    ):
        response = await c.get("/health")
    assert ("strict-transport-security" in response.headers) is hsts
    if hsts:
        assert response.headers["strict-transport-security"].startswith("max-age=31536000")


async def test_cors__allowlisted_origin_only(settings: Settings, resources: Resources) -> None:
    configured = settings.model_copy(
        update={"http": settings.http.model_copy(update={"cors_origins": ["https://app.example"]})}
    )
    app = create_app(configured, resources=resources, run_worker=False)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as c,
    ):
        ok = await c.get("/health", headers={"Origin": "https://app.example"})
        other = await c.get("/health", headers={"Origin": "https://evil.example"})
    assert ok.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in other.headers


async def test_problem_page__explains_each_code(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get("/problems/payload_too_large")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "413" in response.text and "KEEL_HTTP__MAX_BODY_BYTES" in response.text


async def test_problem_page__unknown_code_404(probe_client: httpx.AsyncClient) -> None:
    assert_problem(await probe_client.get("/problems/no_such_code"), 404, "not_found")


async def test_database_pool_exhausted__503_with_retry_after(
    settings: Settings, resources: Resources
) -> None:
    # Given a route whose database checkout times out (the pool is exhausted under load)
    router = api_router()

    @router.get("/busy")
    async def busy() -> None:
        raise sqlalchemy.exc.TimeoutError("QueuePool limit of size 10 overflow 10 reached")

    # When it is called
    async with client_for(settings, resources, router) as client:
        response = await client.get("/api/v1/busy")
    # Then the answer is an overload signal, not an internal error
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["code"] == "service_unavailable"
    assert "QueuePool" not in response.text


async def test_nul_character_in_a_json_string__422_not_500(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a signed-in user (PostgreSQL cannot store U+0000 in text: it used to be a 500)
    caller = await make_caller(db, settings)
    # When a body carries a NUL in a string, at the top or nested
    flat = await client.post("/api/v1/orgs", json={"name": "a\u0000b"}, headers=caller.headers)
    org = (await client.post("/api/v1/orgs", json={"name": "Fine"}, headers=caller.headers)).json()
    nested = await client.patch(
        f"/api/v1/orgs/{org['id']}",
        json={"settings": {"k": ["ok", "x\u0000"]}},
        headers=caller.headers,
    )
    signup = await client.post(
        "/api/v1/auth/register",
        json={"email": "nul@example.com", "password": "correct horse battery", "name": "a\u0000"},
    )
    # Then each is a 422 naming the field, and nothing was written
    assert_problem(flat, 422, "validation_error")
    assert flat.json()["errors"][0]["field"] == "body.name"
    assert_problem(nested, 422, "validation_error")
    assert nested.json()["errors"][0]["field"] == "body.settings.k.1"
    assert_problem(signup, 422, "validation_error")
    listed = await client.get("/api/v1/orgs", headers=caller.headers)
    assert [o["name"] for o in listed.json()] == ["Fine"]
