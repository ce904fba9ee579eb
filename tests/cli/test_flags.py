"""``keel flags seed-examples`` against a committed SQLite database."""

from __future__ import annotations

from sqlalchemy import select

from keel.audit.models import AuditLog
from keel.config import Settings
from keel.flags.models import FeatureFlag
from keel.flags.rules import EXAMPLE_FLAGS
from keel.flags.schemas import flag_document
from tests.cli.conftest import Cli
from tests.cli.support import committed, run


async def stored_flags(settings: Settings) -> dict[str, dict[str, object]]:
    async with committed(settings) as session:
        rows = (await session.scalars(select(FeatureFlag))).all()
        return {row.key: row.definition for row in rows}


async def flag_audit(settings: Settings) -> list[tuple[str, str, str]]:
    async with committed(settings) as session:
        stmt = select(AuditLog.action, AuditLog.actor_kind, AuditLog.actor_id).where(
            AuditLog.target_type == "feature_flag"
        )
        rows = (await session.execute(stmt)).all()
        return [(r.action, r.actor_kind, r.actor_id) for r in rows]


def test_flags_seed_examples__twice__creates_the_three_once_as_the_cli(
    db_cli: Cli, db_settings: Settings
) -> None:
    # Given a migrated database without flags
    # When the examples are seeded twice
    first = db_cli("flags", "seed-examples")
    second = db_cli("flags", "seed-examples")

    # Then the first run created the three, audited as Keel's CLI, and the second nothing
    assert first.exit_code == 0, first.output
    assert "advanced_analytics, ai_assistant, team_collaboration" in first.stdout
    assert second.exit_code == 0, second.output
    assert "nothing to do" in second.stdout
    assert run(lambda: stored_flags(db_settings)) == {
        flag.key: flag_document(flag) for flag in EXAMPLE_FLAGS
    }
    assert run(lambda: flag_audit(db_settings)) == [("feature.created", "system", "cli")] * 3


def test_flags_seed_examples__no_schema__one_line_error(cli: Cli) -> None:
    # Given a database that was never migrated, When seeding
    result = cli("flags", "seed-examples")

    # Then one error line names the fix
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "keel migrate" in result.stderr


def test_flags__bare__shows_help(cli: Cli) -> None:
    result = cli("flags")

    assert result.exit_code == 0
    assert "seed-examples" in result.stdout
