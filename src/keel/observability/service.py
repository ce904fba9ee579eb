"""Readiness checks and error reporting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import text

from keel.config import Settings
from keel.kit.deps import Resources
from keel.observability.schemas import CheckResult, ReadinessReport


async def readiness(resources: Resources) -> ReadinessReport:
    checks: list[tuple[str, Callable[[], Awaitable[None]]]] = [
        ("database", lambda: _check_database(resources)),
    ]
    if resources.settings.redis.url:
        checks.append(("redis", resources.cache.ping))
    timeout = resources.settings.ready_timeout
    results = await asyncio.gather(*(_run(name, fn, timeout) for name, fn in checks))
    failed = any(r.status == "failed" for r in results)
    return ReadinessReport(status="failed" if failed else "ok", checks=list(results))


async def _check_database(resources: Resources) -> None:
    async with resources.database.engine.connect() as conn:
        probe = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await probe.execute(text("SELECT 1"))


async def _run(name: str, check: Callable[[], Awaitable[None]], timeout: float) -> CheckResult:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            await check()
    except Exception as exc:
        error = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
        return CheckResult(name=name, status="failed", latency_ms=_ms(started), error=error)
    return CheckResult(name=name, status="ok", latency_ms=_ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def configure_error_reporting(settings: Settings) -> None:
    """Sentry, when KEEL_SENTRY__DSN is set (completed with scrubbing by the observability
    work)."""
    return None
