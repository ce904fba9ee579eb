"""Readiness (``GET /ready``), error reporting (Sentry) and the preflight behind
``keel doctor`` and ``keel migrate --check``.

Readiness and preflight ask the same dependencies different questions: ``/ready`` is polled
every few seconds by a load balancer, so each check is bounded by ``KEEL_READY_TIMEOUT`` and
answers with an error *class* only; ``keel doctor`` runs once, by a person, so it waits longer
and says what is wrong and how to fix it (with any password in a URL hidden).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

import sentry_sdk
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from pydantic import ValidationError
from sentry_sdk.client import BaseClient
from sentry_sdk.integrations.logging import LoggingIntegration
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

import keel
from keel.config import DEFAULT_SECRET_KEY, MIN_SECRET_KEY_LENGTH, Settings
from keel.kit.db import create_engine
from keel.kit.deps import Resources
from keel.kit.mail import transport_for
from keel.observability import rules
from keel.observability.schemas import CheckResult, PreflightCheck, ReadinessReport

if TYPE_CHECKING:
    from sentry_sdk._types import Event, Hint

Check = Callable[[], Awaitable[None]]

#: How long one SMTP answer stands for /ready: a probe every few seconds must not open an
#: SMTP session (and log in) every time.
SMTP_READY_CACHE_SECONDS = 10.0
#: How long ``keel doctor`` waits for each dependency.
PREFLIGHT_TIMEOUT = 5.0
ALEMBIC_INI = Path(keel.__file__).resolve().parents[2] / "alembic.ini"

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


# --- Migrations ---------------------------------------------------------------------------


def alembic_config(settings: Settings) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.attributes["settings"] = settings
    return config


async def pending_migrations(settings: Settings) -> list[str]:
    """Revisions the database lacks, oldest first; empty when it is at head. Raises
    alembic's ``CommandError`` when the database is at a revision this Keel does not know
    (migrated by a newer version)."""
    script = ScriptDirectory.from_config(alembic_config(settings))
    current = await _current_revisions(settings)
    try:
        revisions = list(script.iterate_revisions(tuple(script.get_heads()), current or "base"))
    except RevisionError as exc:
        raise CommandError(
            f"the database is at revision {', '.join(current)}, which this Keel's migrations "
            "do not contain; was it migrated by a newer version?"
        ) from exc
    return [rev.revision for rev in reversed(revisions)]


async def _current_revisions(settings: Settings) -> tuple[str, ...]:
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            probe = await conn.execution_options(isolation_level="AUTOCOMMIT")
            return await probe.run_sync(_heads_of)
    finally:
        await engine.dispose()


def _heads_of(connection: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(connection).get_current_heads())


# --- Preflight (keel doctor) --------------------------------------------------------------


def load_settings() -> tuple[Settings | None, PreflightCheck]:
    """Read the environment afresh (not the cached process settings) and say whether it
    holds together; a refusal becomes one line naming each bad variable."""
    try:
        settings = Settings()
    except ValidationError as exc:
        detail = rules.describe_validation_error(exc)
        return None, PreflightCheck(name="configuration", status="fail", detail=detail)
    detail = f"valid (KEEL_ENV={settings.env})"
    return settings, PreflightCheck(name="configuration", status="ok", detail=detail)


async def preflight(settings: Settings) -> list[PreflightCheck]:
    """Every check ``keel doctor`` prints after the configuration, in order."""
    database = await _preflight_database(settings)
    return [
        preflight_secret_key(settings),
        preflight_data_dir(settings),
        database,
        await _preflight_migrations(settings, database_ok=database.status == "ok"),
        await _preflight_redis(settings),
        await _preflight_smtp(settings),
    ]


def preflight_secret_key(settings: Settings) -> PreflightCheck:
    # Outside development a weak key never gets here: Settings refuses it.
    key = settings.secret_key.get_secret_value()
    if key == DEFAULT_SECRET_KEY or len(key) < MIN_SECRET_KEY_LENGTH:
        return PreflightCheck(
            name="secret key",
            status="warn",
            detail="the development default or too short: fine on a laptop; set KEEL_SECRET_KEY "
            f"to {MIN_SECRET_KEY_LENGTH}+ random characters before KEEL_ENV=production",
        )
    return PreflightCheck(name="secret key", status="ok", detail=f"set ({len(key)} characters)")


def preflight_data_dir(settings: Settings) -> PreflightCheck:
    path = settings.data_dir.resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path):
            pass
    except OSError as exc:
        # Only SQLite and file mail live there; otherwise an unwritable dir is harmless.
        needed = settings.is_sqlite or not settings.smtp.url
        return PreflightCheck(
            name="data dir",
            status="fail" if needed else "warn",
            detail=f"{path} is not writable ({exc.strerror or type(exc).__name__}); "
            "fix its permissions or point KEEL_DATA_DIR elsewhere",
        )
    return PreflightCheck(name="data dir", status="ok", detail=f"{path} is writable")


async def _preflight_database(settings: Settings) -> PreflightCheck:
    where = safe_url(settings.database_url)
    engine = create_engine(settings)
    try:
        async with asyncio.timeout(PREFLIGHT_TIMEOUT), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        return PreflightCheck(
            name="database",
            status="fail",
            detail=f"cannot reach {where} ({_describe(exc)}); start it or fix KEEL_DATABASE__URL",
        )
    finally:
        await engine.dispose()
    return PreflightCheck(name="database", status="ok", detail=f"reachable at {where}")


async def _preflight_migrations(settings: Settings, *, database_ok: bool) -> PreflightCheck:
    if not database_ok:
        return PreflightCheck(
            name="migrations", status="fail", detail="not checked: the database is unreachable"
        )
    try:
        pending = await pending_migrations(settings)
    except Exception as exc:
        return PreflightCheck(
            name="migrations",
            status="fail",
            detail=f"cannot compare with this Keel's migrations ({_describe(exc)})",
        )
    if pending:
        shown = ", ".join(pending[:3]) + (", ..." if len(pending) > 3 else "")
        return PreflightCheck(
            name="migrations",
            status="fail",
            detail=f"{len(pending)} pending ({shown}); run `keel migrate`",
        )
    return PreflightCheck(name="migrations", status="ok", detail="the database is at head")


async def _preflight_redis(settings: Settings) -> PreflightCheck:
    url = settings.redis.url
    if not url:
        return PreflightCheck(
            name="redis", status="ok", detail="not configured: in-process cache and broadcast"
        )
    try:
        async with asyncio.timeout(PREFLIGHT_TIMEOUT):
            await _ping_redis(url, settings.redis.timeout)
    except Exception as exc:
        return PreflightCheck(
            name="redis",
            status="fail",
            detail=f"Redis is configured but unreachable at {safe_url(url)} ({_describe(exc)}); "
            "start it or unset KEEL_REDIS__URL to use the in-process store",
        )
    return PreflightCheck(name="redis", status="ok", detail=f"reachable at {safe_url(url)}")


async def _ping_redis(url: str, socket_timeout: float) -> None:
    """A client of its own that tries once: the app's retries would turn "refused" into a
    ten-second wait and a vaguer message."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    client = Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        await client.ping()
    finally:
        await client.aclose()


async def _preflight_smtp(settings: Settings) -> PreflightCheck:
    url = settings.smtp.url
    if not url:
        status = "warn" if settings.env == "production" else "ok"
        return PreflightCheck(
            name="smtp",
            status=status,
            detail=f"not configured: mail is written to {settings.data_dir / 'mail'}, "
            "nobody receives it; set KEEL_SMTP__URL to send",
        )
    waited = max(PREFLIGHT_TIMEOUT, settings.smtp.timeout + 1)
    try:
        async with asyncio.timeout(waited):
            await transport_for(settings).ping()
    except Exception as exc:
        return PreflightCheck(
            name="smtp",
            status="fail",
            detail=f"SMTP is configured but failed at {safe_url(url)} "
            f"({_describe(exc, waited)}); "
            "check KEEL_SMTP__URL and that the server is up",
        )
    return PreflightCheck(name="smtp", status="ok", detail=f"answers at {safe_url(url)}")


def safe_url(url: str) -> str:
    """``url`` with its password replaced, for messages a person reads."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return rules.scrub_text(url)


def _describe(exc: BaseException, waited: float = PREFLIGHT_TIMEOUT) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {waited:g} s"
    message = " ".join(str(exc).split())
    return rules.scrub_text(f"{type(exc).__name__}: {message}" if message else type(exc).__name__)
