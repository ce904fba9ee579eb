"""Events the observability domain publishes:

================  ==========================================================================
name              when
================  ==========================================================================
error.detected    an unhandled exception answered a request with 500, or a job died after
                  its last attempt; at most one per fingerprint per KEEL_ALERTS__WINDOW_SECONDS
================  ==========================================================================
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from keel.events.schemas import Event


class ErrorDetected(Event):
    """Keel failed: an unhandled exception behind a 500 (``source: request``, ``where`` is
    the method and route template) or a job that died after its last attempt (``source:
    job``, ``where`` is the job name). ``fingerprint`` groups occurrences of one fault (the
    exception type and the modules and functions of its innermost frames, never line numbers
    or messages). At most one event per fingerprint per window: ``suppressed`` counts the
    occurrences since the previous event that were not published (those of the same UTC
    day), ``first_seen`` is when the fingerprint was first reported, ``last_seen`` this
    occurrence. The ``message`` is cut to 300 characters with secrets and email addresses
    removed; request bodies, headers and job payloads are never included. Platform-wide:
    ``organization_id`` is null."""

    name = "error.detected"
    example = {
        "fingerprint": "3f9a1c0e5b7d2a64",
        "exception_type": "sqlalchemy.exc.OperationalError",
        "message": "(sqlite3.OperationalError) database is locked",
        "source": "request",
        "where": "POST /api/v1/orgs/{org_id}/projects",
        "request_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "suppressed": 12,
        "first_seen": "2026-11-25T09:30:00Z",
        "last_seen": "2026-11-25T09:35:02Z",
    }

    fingerprint: str
    exception_type: str
    message: str
    source: Literal["request", "job"]
    where: str
    request_id: str | None = None
    suppressed: int = 0
    first_seen: datetime
    last_seen: datetime
