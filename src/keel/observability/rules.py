"""Pure helpers for the operational surface: the problem-type pages, the scrubbing of error
reports before they leave the process, the wording of configuration errors, and what an
``error.detected`` event says about an exception (its fingerprint and a safe message)."""

from __future__ import annotations

import hashlib
import inspect
import re
import traceback
from collections.abc import Mapping
from html import escape
from typing import Any

from pydantic import ValidationError

from keel.kit.errors import PROBLEM_CATALOG
from keel.kit.logging import REDACTED

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} ({code}) - Keel</title></head>
<body><main>
<h1>{title}</h1>
<p>HTTP status <strong>{status}</strong>, problem code <code>{code}</code>.</p>
<p>{explanation}</p>
<p><a href="/">Keel</a></p>
</main></body></html>
"""


def problem_page(code: str) -> str | None:
    cls = PROBLEM_CATALOG.get(code)
    if cls is None:
        return None
    explanation = " ".join(inspect.cleandoc(cls.__doc__ or cls.title).split())
    return _PAGE.format(
        title=escape(cls.title),
        code=escape(cls.code),
        status=cls.status,
        explanation=escape(explanation),
    )


# --- Error-report scrubbing -------------------------------------------------------------
# Sentry's own scrubber is shallow: it misses the raw ASGI ``scope["headers"]`` pairs that
# appear among a stack frame's local variables, query strings and credentials inside URLs.
# Everything below walks the whole event, so a secret is dropped wherever it turns up.

#: Keys whose value is dropped whole, at any depth (headers, cookies, frame variables, body).
_SECRET_KEY = re.compile(
    r"pass(word)?|secret|token|api[_-]?key|authorization|cookie|credential|dsn"
    r"|^otp$|mfa_code|recovery|csrf",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*):[^@/\s]+@", re.IGNORECASE)
_AUTH_SCHEME = re.compile(r"(?P<head>\b(?:bearer|basic|token)\s+)[^\s'\"]+", re.IGNORECASE)
_SECRET_PARAM = re.compile(
    r"(?P<head>\b[\w.-]*(?:pass(?:word)?|secret|token|api[_-]?key|session|signature|otp)"
    r"[\w.-]*=)[^&;\s'\"]+",
    re.IGNORECASE,
)
# A header pair as Sentry serialises ASGI scope headers: ["b'authorization'", "b'Bearer x'"].
_HEADER_NAME = re.compile(r"^(?:b['\"])?(?P<name>[A-Za-z0-9-]+)['\"]?$")


def scrub_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a Sentry event (or transaction) with every secret replaced by ``[redacted]``."""
    scrubbed = _scrub(dict(event))
    assert isinstance(scrubbed, dict)
    return scrubbed


def scrub_text(text: str) -> str:
    """Passwords in URLs, ``Bearer``/``Basic`` credentials and secret query parameters."""
    text = _URL_PASSWORD.sub(r"\g<head>:" + REDACTED + "@", text)
    text = _AUTH_SCHEME.sub(r"\g<head>" + REDACTED, text)
    return _SECRET_PARAM.sub(r"\g<head>" + REDACTED, text)


def is_secret_key(key: object) -> bool:
    return isinstance(key, str) and bool(_SECRET_KEY.search(key))


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {k: REDACTED if is_secret_key(k) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if _is_secret_pair(value):
            return [value[0], REDACTED]
        return [_scrub(item) for item in value]
    return value


def _is_secret_pair(value: list[Any] | tuple[Any, ...]) -> bool:
    if len(value) != 2 or not isinstance(value[0], str | bytes):
        return False
    name = value[0].decode("latin-1") if isinstance(value[0], bytes) else value[0]
    match = _HEADER_NAME.match(name)
    return match is not None and is_secret_key(match["name"])


# --- Configuration errors ----------------------------------------------------------------


def describe_validation_error(exc: ValidationError, *, prefix: str = "KEEL_") -> str:
    """One line naming each bad environment variable (``KEEL_DATABASE__POOL_SIZE: ...``);
    input values are left out, since the bad value may be a secret."""
    return "; ".join(_describe_one(error, prefix) for error in exc.errors())


def _describe_one(error: Mapping[str, Any], prefix: str) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    loc = [str(part) for part in error.get("loc", ())]
    if not loc:
        return message
    return f"{prefix}{'__'.join(loc).upper()}: {message}"


# --- error.detected -------------------------------------------------------------------------

#: Innermost frames that name a fault: enough to tell two bugs apart, few enough that a
#: change in a caller far up the stack keeps the fingerprint.
FINGERPRINT_FRAMES = 5
MESSAGE_LIMIT = 300
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def exception_type(exc: BaseException) -> str:
    cls = type(exc)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


def fingerprint(exc: BaseException) -> str:
    """Stable across processes, releases that only move lines, and messages that differ by
    ids: the exception type and the ``module:function`` of the innermost frames."""
    frames = [
        f"{frame.f_globals.get('__name__', '?')}:{frame.f_code.co_name}"
        for frame, _line in traceback.walk_tb(exc.__traceback__)
    ][-FINGERPRINT_FRAMES:]
    text = "\n".join([exception_type(exc), *frames])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def error_message(exc: BaseException) -> str:
    """What an alert may show of the message: secrets and email addresses replaced, cut."""
    text = _EMAIL.sub(REDACTED, scrub_text(str(exc)))
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


def suppressed_since(
    *, seen: int, day: int, reported_seen: int | None, reported_day: int | None
) -> int:
    """Occurrences between the previous event of a fingerprint (the ``reported_seen``-th of
    its day) and this one (the ``seen``-th of ``day``). After midnight, or with no previous
    event known, only the day's earlier occurrences can be counted."""
    if reported_seen is None or reported_day != day:
        return max(0, seen - 1)
    return max(0, seen - reported_seen - 1)
