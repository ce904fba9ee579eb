"""``keel migrate`` and ``keel migrate --check``."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from keel.config import Settings
from tests.cli.conftest import Cli
from tests.conftest import alembic_config


def _all_revisions(settings: Settings) -> list[str]:
    script = ScriptDirectory.from_config(alembic_config(settings))
    return [s.revision for s in script.walk_revisions()]


def test_migrate_check__fresh_sqlite__exit_1_listing_every_revision(
    cli: Cli, db_settings: Settings
) -> None:
    # Given a database nobody migrated yet (the default embedded one under KEEL_DATA_DIR)
    # When
    result = cli("migrate", "--check")

    # Then
    assert result.exit_code == 1
    assert "pending" in result.stdout
    for revision in _all_revisions(db_settings):
        assert revision in result.stdout


def test_migrate__fresh_sqlite__reaches_head_and_check_passes(
    cli: Cli, db_settings: Settings
) -> None:
    # Given
    head = ScriptDirectory.from_config(alembic_config(db_settings)).get_current_head()

    # When
    migrated = cli("migrate")
    checked = cli("migrate", "--check")

    # Then
    assert migrated.exit_code == 0, migrated.output
    assert f"at revision {head} (head)" in migrated.stdout
    assert checked.exit_code == 0, checked.output
    assert "up to date" in checked.stdout


def test_migrate__already_at_head__changes_nothing_and_succeeds(db_cli: Cli) -> None:
    first = db_cli("migrate")
    second = db_cli("migrate")

    assert (first.exit_code, second.exit_code) == (0, 0)
    assert first.stdout == second.stdout


def test_migrate_check__test_database_at_head__exit_0(cli: Cli, migrated: Settings) -> None:
    # Given the suite's database (PostgreSQL when KEEL_TEST_DATABASE_URL is set), migrated
    # When
    result = cli("migrate", "--check", KEEL_DATABASE__URL=migrated.database_url)

    # Then
    assert result.exit_code == 0, result.output
    assert "up to date" in result.stdout


def test_migrate__postgres_unreachable__one_line_without_the_password(cli: Cli) -> None:
    # Given nothing listens on port 1
    url = "postgresql+asyncpg://keel:hunter2-secret@127.0.0.1:1/keel"

    # When
    results = [
        cli(*args, KEEL_DATABASE__URL=url, KEEL_DATABASE__POOL_TIMEOUT="2")
        for args in (["migrate"], ["migrate", "--check"])
    ]

    # Then
    for result in results:
        assert result.exit_code == 1
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith("error: could not ")
        assert "127.0.0.1:1" in result.stderr
        assert "hunter2" not in result.output
