"""Where the database stands against this Keel's migrations (``keel migrate --check``,
``keel doctor``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import Connection

import keel
from keel.config import Settings
from keel.kit.db import create_engine

if TYPE_CHECKING:
    pass


ALEMBIC_INI = Path(keel.__file__).resolve().parents[2] / "alembic.ini"

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
