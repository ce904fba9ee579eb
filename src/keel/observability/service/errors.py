"""``error.detected``: an unhandled exception behind a 500, or a dead job, published once per
fingerprint per window (``KEEL_ALERTS__WINDOW_SECONDS``) so a storm sends one alert.

The window is decided by the shared rate limiter (one Redis counter per fingerprint, so every
process agrees); the occurrences it refuses are counted on a second, daily counter of the same
limiter and folded into the next event as ``suppressed``. Reporting runs after the failed unit
of work was rolled back, in a transaction of its own, and never raises: a database that is
down or hanging costs a log line and at most ``KEEL_ALERTS__REPORT_TIMEOUT_SECONDS``, never the
500 answer itself.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Literal

import structlog
from prometheus_client import Counter
from starlette.types import Scope

from keel.events import service as events_service
from keel.kit import clock
from keel.kit.deps import Resources
from keel.kit.middleware import ErrorHook, route_template
from keel.observability import rules
from keel.observability.events import ErrorDetected

log = structlog.get_logger("observability")

Source = Literal["request", "job"]

#: By source only: a fingerprint label would add a series per distinct bug, without bound.
ERRORS = Counter(
    "keel_errors_total",
    "Unhandled errors: 500 answers (request) and jobs that died (job).",
    ["source"],
)
ERRORS_PUBLISHED = Counter(
    "keel_errors_published_total",
    "error.detected events published; the rest were folded into a later one.",
    ["source"],
)

#: Occurrences are counted per UTC day (a limiter window that never refuses), so a refused
#: occurrence costs one counter increment and no other write; an event reports the day's
#: count minus the count its predecessor saw.
SEEN_WINDOW_SECONDS = 86_400
SEEN_LIMIT = 2**31 - 1
REPORTED_TTL_SECONDS = 2 * 86_400.0


async def report_error(
    resources: Resources,
    exc: BaseException,
    *,
    source: Source,
    where: str,
    request_id: str | None = None,
) -> uuid.UUID | None:
    """The published event's id; None when the window already had one (or reporting
    failed, which is logged)."""
    ERRORS.labels(source).inc()
    fingerprint = rules.fingerprint(exc)
    try:
        async with asyncio.timeout(resources.settings.alerts.report_timeout_seconds):
            return await _report(
                resources, exc, fingerprint, source=source, where=where, request_id=request_id
            )
    except Exception as failure:
        log.warning(
            "errors.report_failed",
            fingerprint=fingerprint,
            error=f"{type(failure).__name__}: {failure}",
        )
        return None


async def _report(
    resources: Resources,
    exc: BaseException,
    fingerprint: str,
    *,
    source: Source,
    where: str,
    request_id: str | None,
) -> uuid.UUID | None:
    now = clock.now()
    admitted, seen, day = await _decide(resources, fingerprint)
    if not admitted:
        return None
    previous = await resources.cache.get(_reported_key(fingerprint)) or {}
    suppressed = rules.suppressed_since(
        seen=seen, day=day, reported_seen=previous.get("seen"), reported_day=previous.get("day")
    )
    event = ErrorDetected(
        fingerprint=fingerprint,
        exception_type=rules.exception_type(exc),
        message=rules.error_message(exc),
        source=source,
        where=where,
        request_id=request_id,
        suppressed=suppressed,
        first_seen=datetime.fromisoformat(previous["first_seen"]) if previous else now,
        last_seen=now,
    )
    async with resources.database.transaction() as session:
        event_id = await events_service.publish(session, event)
    reported = {"seen": seen, "day": day, "first_seen": event.first_seen.isoformat()}
    await resources.cache.set(_reported_key(fingerprint), reported, ttl=REPORTED_TTL_SECONDS)
    ERRORS_PUBLISHED.labels(source).inc()
    log.info("errors.detected", fingerprint=fingerprint, event_id=str(event_id), where=where)
    return event_id


async def _decide(resources: Resources, fingerprint: str) -> tuple[bool, int, int]:
    """Whether this occurrence gets the window's one event, how many occurrences of the
    fingerprint its day has seen, and which day (days since the epoch, UTC). Both counters
    are limiter decisions asked together: on Redis, a burst of occurrences costs one
    pipelined round trip per event-loop turn, and no other write."""
    window = resources.settings.alerts.window_seconds
    admitted, seen = await asyncio.gather(
        resources.limiter.decide(f"errors:{fingerprint}", limit=1, window_seconds=window),
        resources.limiter.decide(
            f"errors:{fingerprint}:seen", limit=SEEN_LIMIT, window_seconds=SEEN_WINDOW_SECONDS
        ),
    )
    return admitted.allowed, seen.used, round(seen.reset_at / SEEN_WINDOW_SECONDS)


def request_error_hook(resources_of: Callable[[], Resources | None]) -> ErrorHook:
    """The middleware's ``on_error``: ``resources_of`` answers the app's resources (None
    before the lifespan opened them)."""

    async def report(scope: Scope, exc: Exception) -> None:
        resources = resources_of()
        if resources is None:
            return
        where = f"{scope['method'][:16]} {route_template(scope)}"
        request_id = scope.get("state", {}).get("request_id")
        await report_error(resources, exc, source="request", where=where, request_id=request_id)

    return report


def _reported_key(fingerprint: str) -> str:
    """What the last event of ``fingerprint`` saw: the day and its count, and first_seen
    (when the fingerprint was first reported, carried from event to event)."""
    return f"errors:{fingerprint}:reported"
