"""Error reporting through Sentry, with every secret scrubbed before an event leaves."""

from __future__ import annotations

import logging
import sys
import warnings
from importlib.metadata import version
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

import sentry_sdk
from sentry_sdk.client import BaseClient
from sentry_sdk.integrations.logging import LoggingIntegration

from keel.config import Settings
from keel.observability import rules

if TYPE_CHECKING:
    from sentry_sdk._types import Event, Hint


# --- Error reporting ----------------------------------------------------------------------

_SENTRY_HANDLER_NAME = "keel-sentry"


def configure_error_reporting(settings: Settings) -> BaseClient | None:
    """Send unhandled errors to Sentry when ``KEEL_SENTRY__DSN`` is set; else turn reporting
    off. Safe to call again (tests, several apps in one process): the previous client is
    closed first. Every event passes :func:`rules.scrub_event` before it leaves."""
    shutdown_error_reporting()
    if not settings.sentry.dsn:
        return None
    with warnings.catch_warnings():
        # sentry-sdk 2.x deprecates send_default_pii for data_collection, which would also
        # switch off its own EventScrubber; we keep the flag and both scrubbing layers.
        warnings.filterwarnings("ignore", "The send_default_pii option", DeprecationWarning)
        _init_sentry(settings)
    _install_log_capture()
    return sentry_sdk.get_client()


def _init_sentry(settings: Settings) -> None:
    sentry_sdk.init(
        dsn=settings.sentry.dsn,
        environment=settings.env,
        release=f"keel@{version('keel')}",
        send_default_pii=False,
        # 0 means "no tracing", not "trace and drop everything": None skips the overhead.
        traces_sample_rate=settings.sentry.traces_sample_rate or None,
        before_send=_before_send,
        before_send_transaction=_before_send,
        # Breadcrumbs only: error events come from _ExceptionToSentry below.
        integrations=[LoggingIntegration(level=logging.INFO, event_level=None)],
    )


def shutdown_error_reporting(timeout: float = 2.0) -> None:
    """Flush what is queued (up to ``timeout`` seconds) and stop reporting."""
    client = sentry_sdk.get_client()
    if client.is_active():
        client.close(timeout=timeout)
    sentry_sdk.get_global_scope().set_client(None)
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if h.get_name() != _SENTRY_HANDLER_NAME]


def _before_send(event: Event, _hint: Hint) -> Event | None:
    return cast("Event", rules.scrub_event(cast("dict[str, Any]", event)))


def _install_log_capture() -> None:
    handler = _ExceptionToSentry(level=logging.ERROR)
    handler.set_name(_SENTRY_HANDLER_NAME)
    logging.getLogger().addHandler(handler)


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class _ExceptionToSentry(logging.Handler):
    """Reports every exception logged at ERROR. Sentry's logging integration cannot see
    structlog's: structlog keeps ``exc_info`` inside its event dict, so the ``LogRecord``
    carries none. The last-resort 500 of ``RequestContextMiddleware`` arrives here."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("sentry_sdk"):
            return
        exc_info = _exc_info_of(record)
        if exc_info is None:
            return
        event = record.msg.get("event") if isinstance(record.msg, dict) else record.getMessage()
        sentry_sdk.capture_exception(exc_info, tags={"logger": record.name, "log.event": event})


def _exc_info_of(record: logging.LogRecord) -> ExcInfo | None:
    if record.exc_info and record.exc_info[0] is not None:
        return record.exc_info
    flag = record.msg.get("exc_info") if isinstance(record.msg, dict) else None
    if isinstance(flag, BaseException):
        return type(flag), flag, flag.__traceback__
    if isinstance(flag, tuple):
        return cast("ExcInfo", flag)
    current = sys.exc_info()
    return cast("ExcInfo", current) if flag and current[0] is not None else None
