"""``keel doctor`` end to end through Typer: environment in, table and exit code out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import typer
from alembic import command
from typer.testing import CliRunner, Result

from keel.cli.doctor import doctor
from keel.config import Settings
from tests.conftest import TEST_SECRET, alembic_config
from tests.observability.throwaway import free_port


def doctor_app() -> typer.Typer:
    app = typer.Typer()
    app.command("doctor")(doctor)

    @app.callback()
    def main() -> None:
        """A group, so ``doctor`` is invoked by name as under ``keel``."""

    return app


@pytest.fixture
def keel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A test environment of its own: an unmigrated SQLite file, no Redis, no SMTP."""
    for name in list(os.environ):
        if name.startswith("KEEL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KEEL_ENV", "test")
    monkeypatch.setenv("KEEL_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("KEEL_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("KEEL_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path / 'keel.db'}")
    return tmp_path


def run_doctor() -> Result:
    return CliRunner().invoke(doctor_app(), ["doctor"])


def migrate_to_head() -> None:
    settings = Settings()
    command.upgrade(alembic_config(settings), "head")


def test_doctor__unmigrated_database__exit_1_naming_pending_migrations(keel_env: Path) -> None:
    result = run_doctor()
    assert result.exit_code == 1, result.output
    assert "✗ migrations:" in result.output
    assert "run `keel migrate`" in result.output


def test_doctor__migrated_database__exit_0_with_table(keel_env: Path) -> None:
    # Given a database migrated to head
    migrate_to_head()
    # When the doctor runs
    result = run_doctor()
    # Then every check passes and the table lists them
    assert result.exit_code == 0, result.output
    for name in ("configuration", "secret key", "data dir", "database", "migrations", "redis"):
        assert name in result.output
    assert "fail" not in result.output


def test_doctor__redis_port_closed__exit_1_with_one_clear_line(
    keel_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate_to_head()
    monkeypatch.setenv("KEEL_REDIS__URL", f"redis://127.0.0.1:{free_port()}/0")
    result = run_doctor()
    assert result.exit_code == 1, result.output
    line = next(ln for ln in result.output.splitlines() if ln.startswith("✗ redis:"))
    assert "Redis is configured but unreachable at redis://127.0.0.1:" in line
    assert "unset KEEL_REDIS__URL" in line


def test_doctor__weak_secret_in_production__exit_1_before_any_connection(
    keel_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEL_ENV", "production")
    monkeypatch.setenv("KEEL_SECRET_KEY", "short")
    result = run_doctor()
    assert result.exit_code == 1, result.output
    line = next(ln for ln in result.output.splitlines() if ln.startswith("✗ configuration:"))
    assert "KEEL_SECRET_KEY must be set" in line
    assert "database" not in result.output
