"""The preflight behind ``keel doctor``: run once, by a person, so it waits longer than
``/ready`` and says what is wrong and how to fix it (with any password in a URL hidden)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import make_url

from keel.config import DEFAULT_SECRET_KEY, MIN_SECRET_KEY_LENGTH, Settings
from keel.kit.db import create_engine
from keel.kit.mail import transport_for
from keel.observability import rules
from keel.observability.schemas import PreflightCheck
from keel.observability.service import tenancy_checks
from keel.observability.service.migrations import pending_migrations

if TYPE_CHECKING:
    pass


#: How long ``keel doctor`` waits for each dependency.
PREFLIGHT_TIMEOUT = 5.0

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


async def preflight(
    settings: Settings, *, tenant_tables: Sequence[str] | None = None
) -> list[PreflightCheck]:
    """Every check ``keel doctor`` prints after the configuration, in order.

    ``tenant_tables`` (from :func:`tenancy_checks.tenant_tables` over the whole schema, which
    only a composition module may import) adds the row-level security lines after the
    migrations; without it they are left out."""
    database = await _preflight_database(settings)
    database_ok = database.status == "ok"
    tenancy = []
    if tenant_tables is not None:
        tenancy = await preflight_row_level_security(
            settings, tenant_tables, database_ok=database_ok
        )
    return [
        preflight_secret_key(settings),
        preflight_data_dir(settings),
        database,
        await _preflight_migrations(settings, database_ok=database_ok),
        *tenancy,
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


async def preflight_row_level_security(
    settings: Settings, tables: Sequence[str], *, database_ok: bool
) -> list[PreflightCheck]:
    """The runtime role and ``tables`` as row-level security needs them (ADR 0009): one
    line per problem, or one ``ok`` line; skipped on SQLite."""
    if settings.is_sqlite:
        return [tenancy_checks.skipped()]
    if not database_ok:
        return [tenancy_checks.fail("not checked: the database is unreachable")]
    engine = create_engine(settings)
    try:
        async with asyncio.timeout(PREFLIGHT_TIMEOUT), engine.connect() as conn:
            role, found = await tenancy_checks.read_facts(conn, tables)
    except Exception as exc:
        detail = f"cannot read the runtime role and the tenant tables ({_describe(exc)})"
        return [tenancy_checks.fail(detail)]
    finally:
        await engine.dispose()
    return tenancy_checks.judge(role, found, expected=tables)


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
