"""Pure-ASGI middleware: request context (id, rate-limit headers, log line, metrics,
last-resort 500) and security headers. Pure ASGI rather than ``BaseHTTPMiddleware``: no extra
task per request and streaming responses pass through untouched."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keel.config import Settings
from keel.kit import metrics, ratelimit
from keel.kit.errors import InternalError, PayloadTooLarge
from keel.kit.problems import problem_response

log = structlog.get_logger("kit.http")

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "<unmatched>"

#: Called with the request's scope and the exception after its 500 was sent (``main`` gives
#: one that publishes ``error.detected``); it must not raise.
ErrorHook = Callable[[Scope, Exception], Awaitable[None]]


def request_id_from(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` when it is sane, else a fresh one (never trust
    arbitrary bytes into every log line)."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The matched route's template (``/api/v1/orgs/{org_id}``), never the raw path, so
    metric labels stay few. ``route.path`` lacks ``include_router`` prefixes; those are
    constant (``/api/v1``), so the prefix is the shortest head of the request path after
    which the route's own pattern matches the rest."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    pattern = getattr(route, "path_regex", None)
    if not isinstance(template, str) or pattern is None:
        return UNMATCHED_ROUTE
    path: str = scope["path"]
    start = 0
    while start != -1:
        if pattern.match(path[start:] or "/"):
            return path[:start] + template
        start = path.find("/", start + 1)
    return UNMATCHED_ROUTE


class RequestContextMiddleware:
    """Binds the request id to every log line, adds the rate-limit headers of the request's
    decisions, times the request for Prometheus, writes the access log line, and turns an
    unhandled exception into a problem 500 that leaks nothing. ``on_error`` runs after the
    500 was sent, so whatever it does (and however long) the client has its answer."""

    def __init__(self, app: ASGIApp, on_error: ErrorHook | None = None) -> None:
        self.app = app
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = {"code": 500, "sent": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
                headers = MutableHeaders(scope=message)
                headers.append(REQUEST_ID_HEADER, request_id)
                _add_rate_limit_headers(scope, headers)
            await send(message)

        failure: Exception | None = None
        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            log.exception("http.unhandled_error", method=scope["method"], path=scope["path"])
            if status["sent"]:
                raise
            await self._send_internal_error(scope, receive, send_with_id)
            failure = exc
        finally:
            self._observe(scope, status["code"], time.perf_counter() - started)
            structlog.contextvars.clear_contextvars()
        if failure is not None and self.on_error is not None:
            await self.on_error(scope, failure)

    @staticmethod
    async def _send_internal_error(scope: Scope, receive: Receive, send: Send) -> None:
        error = InternalError(
            "Keel could not handle this request. Quote the X-Request-ID header when reporting it."
        )
        await problem_response(error)(scope, receive, send)

    @staticmethod
    def _observe(scope: Scope, status_code: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in _KNOWN_METHODS else "OTHER"
        route = route_template(scope)
        labels = {"method": method, "route": route, "status_code": str(status_code)}
        metrics.HTTP_REQUEST_DURATION.labels(**labels).observe(seconds)
        metrics.HTTP_REQUESTS.labels(**labels).inc()
        log.info(
            "http.request",
            method=method,
            route=route,
            path=scope["path"],
            status=status_code,
            duration_ms=round(seconds * 1000, 2),
        )


def _add_rate_limit_headers(scope: Scope, headers: MutableHeaders) -> None:
    """What :func:`keel.kit.ratelimit.enforce` decided for this request, on any response
    (a raw ``Response`` or an error too); headers the response set itself are kept."""
    for name, value in ratelimit.response_headers(scope).items():
        if name not in headers:
            headers[name] = value


# Swagger UI (/api/docs) loads its script and style from a CDN and runs one inline script.
_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: "
    "https://fastapi.tiangolo.com; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)
_DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)


class SecurityHeadersMiddleware:
    """Adds CSP, framing, sniffing and referrer headers to every response (HSTS outside
    development). A response that sets its own header keeps it."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.headers: dict[str, str] = {
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "strict-origin-when-cross-origin",
            "Cross-Origin-Opener-Policy": "same-origin",
            "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        }
        if not settings.is_development and settings.http.hsts_max_age:
            self.headers["Strict-Transport-Security"] = (
                f"max-age={settings.http.hsts_max_age}; includeSubDomains"
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = _DOCS_CSP if scope["path"].startswith("/api/docs") else _DEFAULT_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in {**self.headers, "Content-Security-Policy": csp}.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def client_ip(scope: dict[str, Any]) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


class BodyLimitMiddleware:
    """413 problem JSON for bodies over ``KEEL_HTTP__MAX_BODY_BYTES``, declared or streamed.

    Hand-written because Starlette's own limiter answers in plain text. A declared
    ``Content-Length`` over the limit is refused before reading; a chunked body is counted as
    it arrives and reading stops at the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await problem_response(self._error())(scope, receive, send)
            return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413)
            return message

        await self.app(scope, counted_receive, send)

    def _error(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"The request body is larger than the {self.max_bytes} bytes this server accepts."
        )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
