"""Logging: secrets never reach a log line, and production writes one JSON object per line
carrying the request id."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog
from asgi_lifespan import LifespanManager

from keel.config import Settings
from keel.kit.deps import Resources
from keel.kit.logging import REDACTED, configure_logging, redact_secrets
from keel.main import create_app
from tests.conftest import TEST_SECRET, TEST_SIGNING_KEY


def redact(**event: Any) -> dict[str, Any]:
    return dict(redact_secrets(None, "info", dict(event)))


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "new_password",
        "access_token",
        "refresh_token",
        "Authorization",
        "cookie",
        "set_cookie",
        "api_key",
        "X-Api-Key",
        "client_secret",
        "otp",
        "mfa_code",
        "sentry_dsn",
    ],
)
def test_redact_secrets__secret_key__value_redacted(key: str) -> None:
    assert redact(**{key: "hunter2"})[key] == REDACTED


def test_redact_secrets__nested_secret__redacted_in_place() -> None:
    event = redact(headers={"Authorization": "Bearer abc", "Accept": "*/*"}, items=[{"token": "t"}])
    assert event["headers"] == {"Authorization": REDACTED, "Accept": "*/*"}
    assert event["items"] == [{"token": REDACTED}]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "postgresql+asyncpg://keel:pw@db:5432/keel",
            f"postgresql+asyncpg://keel:{REDACTED}@db:5432/keel",
        ),
        ("redis://:pw@cache:6379/0", f"redis://:{REDACTED}@cache:6379/0"),
        (
            "failed to reach smtp://mailer:p%40ss@smtp.example.com:587 after 3 tries",
            f"failed to reach smtp://mailer:{REDACTED}@smtp.example.com:587 after 3 tries",
        ),
        ("https://example.com/path?q=1", "https://example.com/path?q=1"),
    ],
)
def test_redact_secrets__password_in_url__only_password_redacted(text: str, expected: str) -> None:
    assert redact(url=text)["url"] == expected
    assert redact(message=[text])["message"] == [expected]


def test_redact_secrets__ordinary_fields__untouched() -> None:
    event = {"event": "http.request", "status_code": 200, "path": "/api/v1/orgs", "duration_ms": 3}
    assert redact(**event) == event


class KeelLog:
    """Redirects the handler ``configure_logging`` installed (it writes to stderr) into a
    buffer. Redirected after configuring, because pytest swaps ``sys.stderr`` between
    phases."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    def capture(self) -> None:
        [handler] = [h for h in logging.getLogger().handlers if h.get_name() == "keel"]
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(self.buffer)


@pytest.fixture
def keel_log() -> Iterator[KeelLog]:
    """Restores the root logger afterwards so no handler bound to the buffer outlives the
    test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield KeelLog()
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.contextvars.clear_contextvars()


def lines(log: KeelLog) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.buffer.getvalue().splitlines() if line.strip()]


def production(**log: Any) -> Settings:
    return Settings(
        env="production",
        secret_key=TEST_SECRET,
        log=log,
        auth={"signing_keys": [TEST_SIGNING_KEY]},
    )


@pytest.mark.parametrize("fmt", ["json", "auto"])
def test_configure_logging__production__json_line_with_request_id(
    keel_log: KeelLog, fmt: str
) -> None:
    # Given production logging and a bound request id
    configure_logging(production(format=fmt))
    keel_log.capture()
    structlog.contextvars.bind_contextvars(request_id="req-123")
    # When a line is logged with a secret in it
    structlog.get_logger("test.logging").info("thing.happened", status_code=200, password="pw")
    # Then stderr holds one JSON object with the id and without the secret
    [line] = lines(keel_log)
    assert line["event"] == "thing.happened"
    assert line["request_id"] == "req-123"
    assert (line["level"], line["logger"], line["status_code"]) == ("info", "test.logging", 200)
    assert line["password"] == REDACTED
    assert "timestamp" in line


def test_configure_logging__standard_library_logger__json_and_redacted(
    keel_log: KeelLog,
) -> None:
    configure_logging(production(format="json"))
    keel_log.capture()
    logging.getLogger("test.stdlib").warning("connecting to %s", "postgresql://u:pw@db/keel")
    [line] = lines(keel_log)
    assert line["event"] == f"connecting to postgresql://u:{REDACTED}@db/keel"
    assert line["logger"] == "test.stdlib" and line["level"] == "warning"


async def test_access_log__request_with_id__json_line_carries_it(
    keel_log: KeelLog, settings: Settings, resources: Resources
) -> None:
    # Given an app logging JSON (create_app configures logging)
    app = create_app(settings, resources=resources, run_worker=False)
    keel_log.capture()
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            # When a request carries its own id
            await c.get("/health", headers={"X-Request-ID": "probe-77"})
    # Then the access line is JSON with that id and the route
    access = [line for line in lines(keel_log) if line["event"] == "http.request"]
    assert access[-1]["request_id"] == "probe-77"
    assert (access[-1]["route"], access[-1]["status"]) == ("/health", 200)
