"""Migrations are one tree with dated, domain-named files, and they match the models on the
backend under test (ADR 0004)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory

from keel.config import Settings
from tests.conftest import ROOT, alembic_config

VERSIONS = ROOT / "migrations" / "versions"
FILE_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}-\d{4}_[a-z]+_[a-z0-9_]+\.py$")


def migration_files() -> list[Path]:
    return sorted(VERSIONS.glob("*.py"))


def test_migration_files__exist() -> None:
    assert migration_files()


@pytest.mark.parametrize("path", migration_files(), ids=lambda path: path.name)
def test_migration_file__named_date_domain_what(path: Path) -> None:
    assert FILE_NAME.match(path.name), (
        f"{path.name}: name migrations YYYY-MM-DD-HHMM_<domain>_<what>.py, e.g. "
        "`uv run alembic revision --autogenerate -m users_add_locale`."
    )


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("2026-11-24-1724_kit_initial_schema.py", True),
        ("2026-11-24-1724_users_add_locale2.py", True),
        ("d33804b5bf99_initial.py", False),
        ("2026-11-24_kit_initial.py", False),
        ("2026-11-24-1724_Kit_initial.py", False),
        ("2026-11-24-1724_kit.py", False),
    ],
)
def test_file_name_pattern__table(name: str, ok: bool) -> None:
    assert bool(FILE_NAME.match(name)) is ok


def test_migrations__one_head(settings: Settings) -> None:
    heads = ScriptDirectory.from_config(alembic_config(settings)).get_heads()
    assert len(heads) == 1, f"several heads {heads}: merge them with `uv run alembic merge`"


def test_migrations__match_models(migrated: Settings) -> None:
    # Given this worker's test database migrated to head (SQLite, or PostgreSQL in CI)
    # When alembic compares it with the models, Then autogenerate would find nothing to do
    command.check(alembic_config(migrated))
