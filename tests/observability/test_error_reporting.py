"""Error reporting for real: an unhandled exception reaches a Sentry-compatible server that
records what it is sent, and nothing secret from the request goes with it."""

from __future__ import annotations

import gzip
import threading
import zlib
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import sentry_sdk
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from keel.config import Settings
from keel.kit.deps import Resources
from keel.kit.routing import api_router
from keel.main import create_app
from keel.observability import service

TOKEN = "secret-token-4f1c2a"
COOKIE = "cookie-value-9b8e7d"
API_KEY = "keel_api-key-5a6b7c"

failing = api_router(prefix="/report-probe")


@failing.get("/explode/{item_id}")
async def explode(item_id: int) -> None:
    raise RuntimeError(f"probe exploded on item {item_id}")


class _EnvelopeServer(ThreadingHTTPServer):
    envelopes: list[bytes]


class _Recorder(BaseHTTPRequestHandler):
    """Accepts Sentry envelopes (gzip or deflate) and keeps their bodies."""

    server: _EnvelopeServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        self.server.envelopes.append(body)
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


class SentryRecorder:
    def __init__(self) -> None:
        self.server = _EnvelopeServer(("127.0.0.1", 0), _Recorder)
        self.server.envelopes = []
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server.server_port}/1"

    @property
    def received(self) -> str:
        return b"\n".join(self.server.envelopes).decode("utf-8", "replace")


@pytest.fixture
def sentry_recorder() -> Iterator[SentryRecorder]:
    recorder = SentryRecorder()
    recorder.thread.start()
    yield recorder
    recorder.server.shutdown()
    recorder.server.server_close()


@pytest.fixture
async def reporting_app(
    settings: Settings, resources: Resources, sentry_recorder: SentryRecorder, tmp_path: Path
) -> AsyncIterator[FastAPI]:
    with_dsn = settings.model_copy(
        update={"sentry": settings.sentry.model_copy(update={"dsn": sentry_recorder.dsn})}
    )
    app = create_app(with_dsn, resources=resources, run_worker=False)
    app.include_router(failing, prefix="/api/v1")
    try:
        async with LifespanManager(app):
            yield app
    finally:
        # Closes the client and removes the log hook: later tests report nothing.
        service.shutdown_error_reporting()


async def test_unhandled_error__with_dsn__reported_without_credentials(
    reporting_app: FastAPI, sentry_recorder: SentryRecorder
) -> None:
    # Given an app that reports to our recording server
    transport = httpx.ASGITransport(app=reporting_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", cookies={"__Host-keel_session": COOKIE}
    ) as client:
        # When a request carrying credentials hits an endpoint that raises
        response = await client.get(
            f"/api/v1/report-probe/explode/7?access_token={TOKEN}",
            headers={"Authorization": f"Bearer {TOKEN}", "X-Api-Key": API_KEY},
        )
    assert response.status_code == 500
    sentry_sdk.flush(timeout=5)

    # Then the report holds the exception
    received = sentry_recorder.received
    assert "probe exploded on item 7" in received
    assert "RuntimeError" in received
    # And the request it came from, without any of its secrets
    assert "/api/v1/report-probe/explode/7" in received
    for secret in (TOKEN, COOKIE, API_KEY):
        assert secret not in received


async def test_configure_error_reporting__no_dsn__reports_nothing(settings: Settings) -> None:
    # Given settings without a DSN
    assert settings.sentry.dsn is None
    # When reporting is configured
    client = service.configure_error_reporting(settings)
    # Then no client records anything
    assert client is None
    assert not sentry_sdk.get_client().is_active()


async def test_configure_error_reporting__dsn__environment_release_and_no_pii(
    settings: Settings, sentry_recorder: SentryRecorder
) -> None:
    # Given settings with a DSN
    with_dsn = settings.model_copy(
        update={
            "sentry": settings.sentry.model_copy(
                update={"dsn": sentry_recorder.dsn, "traces_sample_rate": 0.25}
            )
        }
    )
    try:
        # When reporting is configured
        client = service.configure_error_reporting(with_dsn)
        # Then the client is tagged with the environment and version, and sends no PII
        assert client is not None and client.is_active()
        assert client.options["environment"] == "test"
        assert client.options["release"].startswith("keel@")
        assert client.options["send_default_pii"] is False
        assert client.options["traces_sample_rate"] == 0.25
    finally:
        service.shutdown_error_reporting()
    # And after shutdown nothing is active any more
    assert not sentry_sdk.get_client().is_active()
