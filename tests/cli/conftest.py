"""CLI fixtures: a fresh ``keel`` app, an environment pointing at tmp paths, and migrated
SQLite databases that commands really commit to (they open their own engines)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from alembic import command
from typer.testing import CliRunner, Result

from keel.cli import register
from keel.cli.main import new_app
from keel.config import Settings, get_settings
from tests.cli.support import keel_env, sqlite_url
from tests.conftest import alembic_config, make_settings


@pytest.fixture(autouse=True)
def _fresh_settings_cache() -> Iterator[None]:
    """Commands read ``get_settings()``: each test's environment must be read anew and must
    not leak into later tests of this process."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def cli_app() -> typer.Typer:
    app = new_app()
    register(app)
    return app


@dataclass
class Cli:
    app: typer.Typer
    env: dict[str, str | None]

    def __call__(self, *args: str, **env: str | None) -> Result:
        return CliRunner().invoke(self.app, list(args), env={**self.env, **env})

    def piped(self, stdin: str, *args: str) -> Result:
        """``keel <args>`` with ``stdin`` piped in, as ``echo ... | keel ...``."""
        return CliRunner().invoke(self.app, list(args), env=self.env, input=stdin)


@pytest.fixture
def cli(cli_app: typer.Typer, tmp_path: Path) -> Cli:
    """``keel`` with an embedded SQLite database under this test's tmp dir."""
    return Cli(cli_app, keel_env(tmp_path / "var"))


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once per xdist worker; tests copy the file instead of migrating again."""
    path = tmp_path_factory.mktemp("template") / "keel.db"
    command.upgrade(alembic_config(_settings(path)), "head")
    return path


@pytest.fixture
def db_settings(migrated_template: Path, tmp_path: Path) -> Settings:
    """A migrated SQLite database of this test's own."""
    path = tmp_path / "db" / "keel.db"
    path.parent.mkdir()
    shutil.copy(migrated_template, path)
    return _settings(path)


@pytest.fixture
def db_cli(cli: Cli, db_settings: Settings) -> Cli:
    """``keel`` pointed at ``db_settings``'s database."""
    return Cli(cli.app, {**cli.env, "KEEL_DATABASE__URL": db_settings.database_url})


def _settings(path: Path) -> Settings:
    return make_settings(sqlite_url(path), path.parent, "keel:cli:")
