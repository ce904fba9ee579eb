"""Readiness, migrations and preflight checks, against the real test database and real
(throwaway) Redis and SMTP endpoints."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import text

from keel.config import Settings
from keel.kit.db import create_engine
from keel.kit.deps import Resources
from keel.kit.mail import MailServerError
from keel.observability import service
from keel.observability.service import ready as ready_module
from tests.conftest import TEST_SECRET, alembic_config, make_settings
from tests.notifications.mailserver import smtp_server, with_smtp
from tests.observability.throwaway import free_port


def head_revisions() -> list[str]:
    return list(ScriptDirectory.from_config(service.alembic_config(Settings())).get_heads())


# Our throwaway SMTP servers take a password over plain text on 127.0.0.1; that is fine here.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def sqlite_settings(tmp_path: Path, data_dir: Path | None = None, **overrides: object) -> Settings:
    url = f"sqlite+aiosqlite:///{tmp_path / 'doctor.db'}"
    prefix = f"keel:test:{uuid.uuid4().hex[:8]}:"
    return make_settings(url, data_dir or tmp_path, prefix, **overrides)


# --- readiness -----------------------------------------------------------------------------


async def test_readiness__dependencies_up__ok_with_latency(resources: Resources) -> None:
    report = await service.readiness(resources)
    assert report.ok
    names = [check.name for check in report.checks]
    assert names[0] == "database"
    assert ("redis" in names) == (resources.settings.redis.url is not None)
    assert all(check.status == "ok" and check.latency_ms >= 0 for check in report.checks)


async def test_readiness__smtp_answers__reported_ok(resources: Resources) -> None:
    with smtp_server() as inbox:
        resources.settings = with_smtp(resources.settings, url=f"smtp://127.0.0.1:{inbox.port}")
        report = await service.readiness(resources)
    smtp = next(check for check in report.checks if check.name == "smtp")
    assert report.ok and smtp.status == "ok"


async def test_readiness__smtp_down__reported_but_still_ready(resources: Resources) -> None:
    # Given an SMTP URL where nothing listens
    resources.settings = with_smtp(resources.settings, url=f"smtp://127.0.0.1:{free_port()}")
    # When readiness is checked
    report = await service.readiness(resources)
    # Then SMTP shows as failed, non-critical, and the instance stays ready
    smtp = next(check for check in report.checks if check.name == "smtp")
    assert (smtp.status, smtp.critical) == ("failed", False)
    assert smtp.error is not None and "127.0.0.1" not in smtp.error
    assert report.ok


async def test_readiness__smtp_probed_twice_quickly__one_smtp_session(
    resources: Resources,
) -> None:
    # Given an SMTP server that counts logins (one per session)
    with smtp_server(credentials=("probe", "pw")) as inbox:
        url = f"smtp://probe:pw@127.0.0.1:{inbox.port}"
        resources.settings = with_smtp(resources.settings, url=url)
        # When /ready asks twice within the cache window
        first = await service.readiness(resources)
        second = await service.readiness(resources)
    # Then SMTP was asked once and both answers agree
    assert inbox.logins == ["probe"]
    assert first.checks[-1] == second.checks[-1]


async def test_readiness__smtp_cache_expired__asks_again(
    resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ready_module, "SMTP_READY_CACHE_SECONDS", 0.0)
    with smtp_server(credentials=("probe", "pw")) as inbox:
        url = f"smtp://probe:pw@127.0.0.1:{inbox.port}"
        resources.settings = with_smtp(resources.settings, url=url)
        await service.readiness(resources)
        await service.readiness(resources)
    assert inbox.logins == ["probe", "probe"]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (TimeoutError(), "timed out"),
        (ConnectionRefusedError("refused at redis://:pw@h"), "ConnectionRefusedError"),
    ],
)
def test_error_class__plain_error__class_name_only(error: Exception, expected: str) -> None:
    assert service.error_class(error) == expected


def test_error_class__wrapping_error__names_the_cause() -> None:
    error = MailServerError("wrapped")
    error.__cause__ = ConnectionRefusedError("smtp://user:pw@host")
    assert service.error_class(error) == "MailServerError(ConnectionRefusedError)"


# --- migrations ----------------------------------------------------------------------------


async def test_pending_migrations__migrated_database__none(migrated: Settings) -> None:
    assert await service.pending_migrations(migrated) == []


async def test_pending_migrations__empty_database__every_revision_oldest_first(
    tmp_path: Path,
) -> None:
    pending = await service.pending_migrations(sqlite_settings(tmp_path))
    assert pending and pending[-1] in head_revisions()
    assert len(set(pending)) == len(pending)


def test_pending_migrations__after_upgrade__none(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path)
    command.upgrade(alembic_config(settings), "head")
    assert asyncio.run(service.pending_migrations(settings)) == []


# --- preflight -----------------------------------------------------------------------------


async def test_preflight__everything_fine__no_failure(migrated: Settings) -> None:
    checks = await service.preflight(migrated)
    assert [c.name for c in checks] == [
        "secret key",
        "data dir",
        "database",
        "migrations",
        "redis",
        "smtp",
    ]
    assert all(check.status != "fail" for check in checks), checks


async def test_preflight__redis_port_closed__fails_with_fix(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path, redis={"url": f"redis://:pw@127.0.0.1:{free_port()}/0"})
    redis = next(c for c in await service.preflight(settings) if c.name == "redis")
    assert redis.status == "fail"
    assert "Redis is configured but unreachable" in redis.detail
    assert "unset KEEL_REDIS__URL" in redis.detail
    assert ":pw@" not in redis.detail


async def test_preflight__smtp_refuses_login__fails_without_password(tmp_path: Path) -> None:
    with smtp_server(credentials=("probe", "right")) as inbox:
        settings = sqlite_settings(
            tmp_path, smtp={"url": f"smtp://probe:wrong-pw@127.0.0.1:{inbox.port}"}
        )
        smtp = next(c for c in await service.preflight(settings) if c.name == "smtp")
    assert smtp.status == "fail" and "KEEL_SMTP__URL" in smtp.detail
    assert "wrong-pw" not in smtp.detail


async def test_preflight__no_smtp_in_production__warns_mail_goes_to_files(
    tmp_path: Path,
) -> None:
    settings = sqlite_settings(tmp_path, env="production")
    smtp = next(c for c in await service.preflight(settings) if c.name == "smtp")
    assert smtp.status == "warn" and "KEEL_SMTP__URL" in smtp.detail


async def test_preflight__database_unreachable__fails_and_skips_migrations(
    tmp_path: Path,
) -> None:
    url = f"postgresql+asyncpg://keel:db-pw@127.0.0.1:{free_port()}/keel"
    settings = sqlite_settings(tmp_path, database={"url": url})
    checks = {c.name: c for c in await service.preflight(settings)}
    assert checks["database"].status == "fail"
    assert "db-pw" not in checks["database"].detail
    assert "KEEL_DATABASE__URL" in checks["database"].detail
    assert checks["migrations"].detail == "not checked: the database is unreachable"


def test_preflight_secret_key__development_default__warns() -> None:
    check = service.preflight_secret_key(Settings(env="development"))
    assert check.status == "warn" and "KEEL_SECRET_KEY" in check.detail


def test_preflight_secret_key__long_random_key__ok_without_revealing_it() -> None:
    check = service.preflight_secret_key(Settings(env="test", secret_key=TEST_SECRET))
    assert check.status == "ok" and TEST_SECRET not in check.detail


def test_preflight_data_dir__not_writable__fails_with_fix(tmp_path: Path) -> None:
    # Given a data dir under a regular file: it can never be created
    blocker = tmp_path / "file"
    blocker.write_text("")
    settings = sqlite_settings(tmp_path, data_dir=blocker / "var")
    check = service.preflight_data_dir(settings)
    assert check.status == "fail" and "KEEL_DATA_DIR" in check.detail


def test_load_settings__bad_variable__one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_DATABASE__POOL_SIZE", "0")
    settings, check = service.load_settings()
    assert settings is None
    assert check.status == "fail"
    assert check.detail.startswith("KEEL_DATABASE__POOL_SIZE:") and "\n" not in check.detail


def test_pending_migrations__unknown_revision_in_database__command_error(
    tmp_path: Path,
) -> None:
    # Given a database stamped by a newer Keel with a revision this one lacks
    settings = sqlite_settings(tmp_path)
    command.upgrade(alembic_config(settings), "head")
    asyncio.run(_stamp(settings, "ffffffffffff"))
    # When pending migrations are listed, alembic's CommandError says so
    with pytest.raises(CommandError):
        asyncio.run(service.pending_migrations(settings))


async def _stamp(settings: Settings, revision: str) -> None:
    engine = create_engine(settings)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    await engine.dispose()
