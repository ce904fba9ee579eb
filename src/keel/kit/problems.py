"""Rendering of :class:`~keel.kit.errors.AppError` as RFC 9457 problem JSON, and the
exception handlers that make every failure one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy.exc
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from keel.kit import errors

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = structlog.get_logger("kit.http")

_BY_STATUS: dict[int, type[errors.AppError]] = {
    400: errors.BadRequest,
    401: errors.NotAuthenticated,
    403: errors.PermissionDenied,
    404: errors.NotFound,
    405: errors.MethodNotAllowed,
    409: errors.Conflict,
    413: errors.PayloadTooLarge,
    415: errors.UnsupportedMediaType,
    422: errors.ValidationFailed,
    429: errors.RateLimited,
    503: errors.ServiceUnavailable,
}


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def problem_response(
    error: errors.AppError, headers: Mapping[str, str] | None = None
) -> ProblemResponse:
    return ProblemResponse(error.to_problem(), status_code=error.status, headers=headers)


def validation_errors(raw: Sequence[Any]) -> list[dict[str, str]]:
    """Field paths and messages only: input values are never echoed (they may be secrets)."""
    return [
        {"field": ".".join(str(part) for part in item["loc"]), "message": item["msg"]}
        for item in raw
    ]


def error_from_validation(exc: RequestValidationError) -> errors.AppError:
    raw = list(exc.errors())
    bad_json = [item for item in raw if item.get("type") == "json_invalid"]
    if bad_json:
        item = bad_json[0]
        reason = item.get("ctx", {}).get("error", "invalid JSON")
        position = item["loc"][-1] if len(item["loc"]) > 1 else 0
        return errors.MalformedJSON(
            "The request body is not valid JSON.",
            errors=[{"field": "body", "message": f"{reason} at character {position}"}],
        )
    return errors.ValidationFailed(
        "Some fields are missing or invalid; see errors.", errors=validation_errors(raw)
    )


def error_from_http_exception(exc: StarletteHTTPException) -> errors.AppError:
    cls = _BY_STATUS.get(exc.status_code)
    if cls is None:
        return errors.AppError(str(exc.detail)) if exc.status_code >= 500 else errors.BadRequest()
    if cls is errors.NotFound:
        return errors.NotFound("Nothing exists at this address.")
    if cls is errors.MethodNotAllowed:
        return errors.MethodNotAllowed("This address does not accept that HTTP method.")
    if cls is errors.PayloadTooLarge:
        return errors.PayloadTooLarge("The request body is larger than this server accepts.")
    detail = exc.detail if isinstance(exc.detail, str) else None
    return cls(detail)


async def _app_error_handler(_request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, errors.AppError)
    headers = dict(exc.headers)
    if "retry_after" in exc.extra:
        headers.setdefault("Retry-After", str(exc.extra["retry_after"]))
    return problem_response(exc, headers)


async def _overloaded_handler(_request: Request, exc: Exception) -> ProblemResponse:
    """No pooled database connection became free in time: the process is overloaded, not
    broken. A 503 with ``Retry-After`` tells clients and load balancers to back off."""
    log.warning("db.pool_exhausted", error=str(exc))
    busy = errors.ServiceUnavailable(
        "Keel is busy: no database connection became free in time. Retry in a moment.",
        retry_after=1,
    )
    return problem_response(busy, {"Retry-After": "1"})


async def _validation_handler(_request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(error_from_validation(exc))


async def _http_exception_handler(_request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem_response(error_from_http_exception(exc), exc.headers)


def install_exception_handlers(app: FastAPI) -> None:
    """Unexpected exceptions are turned into a 500 by the request-context middleware, which
    sits outside Starlette's own error middleware so the answer still has its headers."""
    app.add_exception_handler(errors.AppError, _app_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(sqlalchemy.exc.TimeoutError, _overloaded_handler)
    app.add_exception_handler(StarletteHTTPException, _http_exception_handler)
