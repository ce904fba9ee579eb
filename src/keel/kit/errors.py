"""Keel's error vocabulary: every failure a client can see is an :class:`AppError`.

An ``AppError`` subclass names what happened and carries its HTTP status, a stable
snake_case ``code`` and a title. It is rendered as RFC 9457 problem JSON::

    {"type": "/problems/<code>", "title": ..., "status": ..., "detail": ..., "code": ...}

Each subclass registers itself in :data:`PROBLEM_CATALOG`, which serves the explanation page
at ``GET /problems/<code>``; the class docstring is that explanation, so write it for a client.

Core codes (domains add their own in ``<domain>/errors.py``):

=========================  ======  ===============================================
code                       status  when
=========================  ======  ===============================================
bad_request                400     the request is not one Keel can read
malformed_json             400     the body is not valid JSON
not_authenticated          401     no or invalid credentials
permission_denied          403     authenticated, but not allowed
not_found                  404     no such resource (or not yours)
method_not_allowed         405     the path exists, the method does not
conflict                   409     the change clashes with the current state
payload_too_large          413     the body is over the configured limit
unsupported_media_type     415     a JSON endpoint got another content type
validation_error           422     the payload's fields are wrong (see ``errors``)
rate_limited               429     too many requests (see ``retry_after``)
internal_error             500     Keel failed; the request id finds the log line
service_unavailable        503     a dependency Keel needs is down
=========================  ======  ===============================================
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_CATALOG: dict[str, type[AppError]] = {}


class AppError(Exception):
    """Something went wrong."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"
    #: A refusal that must leave a trace (a failed login's audit entry and lock, a replayed
    #: refresh token's revoked family): the request's transaction commits before answering.
    keeps_changes: ClassVar[bool] = False

    def __init__(
        self, detail: str | None = None, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        self.detail = detail or self.title
        self.headers = headers or {}
        self.extra = extra
        super().__init__(self.detail)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__:
            existing = PROBLEM_CATALOG.get(cls.code)
            if existing is not None and existing.__qualname__ != cls.__qualname__:
                raise TypeError(f"problem code {cls.code!r} is defined twice")
            PROBLEM_CATALOG[cls.code] = cls

    def to_problem(self) -> dict[str, Any]:
        return {
            "type": f"/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            **self.extra,
        }


class InternalError(AppError):
    """Keel failed to handle the request. Nothing about the failure is shown to the client;
    quote the ``X-Request-ID`` response header when reporting it, so the operator can find the
    logged exception."""

    status = 500
    code = "internal_error"
    title = "Internal error"


class BadRequest(AppError):
    """The request could not be read: fix its syntax and send it again."""

    status = 400
    code = "bad_request"
    title = "Bad request"


class MalformedJSON(AppError):
    """The body is not valid JSON. The ``errors`` list gives the position of the first fault;
    send a well-formed JSON document with ``Content-Type: application/json``."""

    status = 400
    code = "malformed_json"
    title = "Malformed JSON"


class NotAuthenticated(AppError):
    """The request carries no valid credentials. Log in, or send
    ``Authorization: Bearer <token>``."""

    status = 401
    code = "not_authenticated"
    title = "Not authenticated"


class PermissionDenied(AppError):
    """You are authenticated but your role does not allow this action. Ask an administrator
    of the organization for the permission named in ``detail``."""

    status = 403
    code = "permission_denied"
    title = "Permission denied"


class NotFound(AppError):
    """Nothing exists at this address, or it belongs to someone else. Check the URL and ids."""

    status = 404
    code = "not_found"
    title = "Not found"


class MethodNotAllowed(AppError):
    """The resource exists but does not accept this HTTP method; the ``Allow`` header lists
    the methods it does accept."""

    status = 405
    code = "method_not_allowed"
    title = "Method not allowed"


class Conflict(AppError):
    """The change conflicts with the resource's current state. Read it again and retry."""

    status = 409
    code = "conflict"
    title = "Conflict"


class PayloadTooLarge(AppError):
    """The request body is larger than this server accepts (``KEEL_HTTP__MAX_BODY_BYTES``,
    1 MiB by default). Send less data, or split it into several requests."""

    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class UnsupportedMediaType(AppError):
    """This endpoint reads JSON. Send the body with ``Content-Type: application/json``."""

    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class ValidationFailed(AppError):
    """One or more fields of the request are missing or invalid. The ``errors`` list names
    each field (``body.email``, ``query.limit``...) and what is wrong with it."""

    status = 422
    code = "validation_error"
    title = "Validation error"


class RateLimited(AppError):
    """Too many requests. Wait ``retry_after`` seconds (also in the ``Retry-After`` header)
    before trying again."""

    status = 429
    code = "rate_limited"
    title = "Too many requests"


class ServiceUnavailable(AppError):
    """A service Keel depends on is not answering. Retry later; operators see which one at
    ``GET /ready``."""

    status = 503
    code = "service_unavailable"
    title = "Service unavailable"
