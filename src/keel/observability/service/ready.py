"""Readiness (``GET /ready``): each dependency bounded by ``KEEL_READY_TIMEOUT``, answered
with an error *class* only, because a load balancer polls it every few seconds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sqlalchemy import text

from keel.config import Settings
from keel.kit.deps import Resources
from keel.kit.mail import transport_for
from keel.observability.schemas import CheckResult, ReadinessReport

if TYPE_CHECKING:
    pass


Check = Callable[[], Awaitable[None]]

#: How long one SMTP answer stands for /ready: a probe every few seconds must not open an
#: SMTP session (and log in) every time.
SMTP_READY_CACHE_SECONDS = 10.0

# --- Readiness ----------------------------------------------------------------------------

_smtp_answers: dict[str, tuple[float, CheckResult]] = {}


async def readiness(resources: Resources) -> ReadinessReport:
    """Every check runs at once, each bounded by ``ready_timeout``, so the answer comes
    within about that long even when a dependency hangs instead of refusing."""
    settings = resources.settings
    budget = settings.ready_timeout
    pending = [_run("database", lambda: _check_database(resources), budget)]
    if settings.redis.url:
        pending.append(_run("redis", resources.cache.ping, budget))
    if settings.smtp.url:
        pending.append(_smtp_answer(settings, budget))
    results = list(await asyncio.gather(*pending))
    failed = any(r.status == "failed" and r.critical for r in results)
    return ReadinessReport(status="failed" if failed else "ok", checks=results)


async def _check_database(resources: Resources) -> None:
    async with resources.database.engine.connect() as conn:
        probe = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await probe.execute(text("SELECT 1"))


async def _smtp_answer(settings: Settings, budget: float) -> CheckResult:
    """SMTP is reported but not critical: mail leaves through retried jobs, and an SMTP
    outage hits every instance alike, so failing readiness would take the whole service out
    of the load balancer for nothing (CONTRACT: /ready is database and Redis)."""
    url = settings.smtp.url or ""
    cached = _smtp_answers.get(url)
    if cached is not None and time.monotonic() - cached[0] < SMTP_READY_CACHE_SECONDS:
        return cached[1]
    result = await _run("smtp", lambda: transport_for(settings).ping(), budget, critical=False)
    _smtp_answers[url] = (time.monotonic(), result)
    return result


async def _run(name: str, check: Check, budget: float, *, critical: bool = True) -> CheckResult:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(budget):
            await check()
    except Exception as exc:
        return CheckResult(
            name=name,
            status="failed",
            latency_ms=_ms(started),
            error=error_class(exc),
            critical=critical,
        )
    return CheckResult(name=name, status="ok", latency_ms=_ms(started), critical=critical)


def error_class(exc: BaseException) -> str:
    """A short, secret-free name for a failure: the class, and the class of its cause when
    the first only wraps it (``MailServerError(ConnectionRefusedError)``)."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    cause = exc.__cause__
    if cause is None or type(cause) is type(exc):
        return type(exc).__name__
    return f"{type(exc).__name__}({type(cause).__name__})"


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
