"""``keel migrate``: bring the database schema to the newest revision, or ``--check`` it.

The helpers here are shared with ``keel serve`` (which migrates an embedded SQLite database
by itself) and ``keel worker`` (which warns when the schema is behind); the pending check is
the observability service's, the same one ``keel doctor`` uses. They are synchronous on
purpose: ``migrations/env.py`` runs its own event loop.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from keel.cli.output import database_errors, fail, load_settings, warn

if TYPE_CHECKING:
    from alembic.config import Config

    from keel.config import Settings


def migrate(
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Change nothing; exit 1 and list the revisions still to apply."
        ),
    ] = False,
) -> None:
    """Apply database migrations up to the newest revision (SQLite or PostgreSQL)."""
    settings = load_settings()
    if check:
        _report_pending(settings)
        return
    reached = upgrade_to_head(settings)
    typer.echo(f"Database {_describe(settings)} is at revision {reached} (head).")


def _report_pending(settings: Settings) -> None:
    pending = pending_revisions(settings)
    if not pending:
        typer.echo(f"Database {_describe(settings)} is up to date.")
        return
    typer.echo(f"{len(pending)} migration(s) pending on {_describe(settings)}:")
    for revision in pending:
        typer.echo(f"  {revision}")
    typer.echo("Apply them with: keel migrate")
    raise typer.Exit(1)


def _describe(settings: Settings) -> str:
    from keel.cli.output import safe_url

    return safe_url(settings)


def alembic_config(settings: Settings) -> Config:
    """Alembic reads the database from ``settings`` (``migrations/env.py``), not the ini."""
    from alembic.config import Config

    import keel

    path = Path(keel.__file__).resolve().parents[2] / "alembic.ini"
    if not path.is_file():
        fail(f"alembic.ini not found at {path}; run Keel from its source tree or image")
    config = Config(str(path))
    config.attributes["settings"] = settings
    return config


def upgrade_to_head(settings: Settings) -> str:
    """Apply every pending revision; returns the head revision the database is now at."""
    from alembic import command
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    config = alembic_config(settings)
    with database_errors(settings, "migrate the database"):
        try:
            command.upgrade(config, "head")
        except CommandError as exc:
            fail(f"migration failed: {exc}")
    return ", ".join(ScriptDirectory.from_config(config).get_heads())


def pending_revisions(settings: Settings) -> list[str]:
    """Revisions not yet applied, oldest first."""
    from alembic.util import CommandError

    from keel.observability.service import pending_migrations

    with database_errors(settings, "read the schema revision"):
        try:
            return asyncio.run(pending_migrations(settings))
        except CommandError as exc:
            fail(f"the database is at a revision this code does not know: {exc}")


def warn_if_pending(settings: Settings) -> None:
    """For processes that must not migrate by themselves: say so, but keep starting (the
    database may come up later; /ready and `keel doctor` report it meanwhile)."""
    from keel.observability.service import pending_migrations

    try:
        pending = asyncio.run(pending_migrations(settings))
    except Exception as exc:
        warn(f"could not check for pending migrations: {type(exc).__name__}: {exc}")
        return
    if pending:
        warn(f"{len(pending)} migration(s) pending ({', '.join(pending)}); run `keel migrate`")
