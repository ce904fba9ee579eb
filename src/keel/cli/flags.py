"""``keel flags``: feature flags from the command line.

``seed-examples`` creates the example flags the product spec names (``advanced_analytics``,
``ai_assistant``, ``team_collaboration``; docs/flags.md) that do not exist yet, as Keel
itself (``Actor.system("cli")``), through the same service call as the admin API: each one
audited, recorded in its history and published as ``feature.created``. Flags already there
are left as they are, so running it twice changes nothing.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import typer

from keel.cli.output import database_errors, help_when_bare, load_settings

if TYPE_CHECKING:
    from keel.config import Settings

app = typer.Typer(help="Manage feature flags.")
app.callback(invoke_without_command=True)(help_when_bare)


@app.command("seed-examples")
def seed_examples() -> None:
    """Create the example flags that are missing (idempotent; audited as feature.created)."""
    settings = load_settings()
    with database_errors(settings, "seed the example flags"):
        created = asyncio.run(_seed(settings))
    if created:
        typer.echo(f"Created {len(created)} example flag(s): {', '.join(created)}.")
    else:
        typer.echo("Every example flag exists already; nothing to do.")


async def _seed(settings: Settings) -> list[str]:
    from keel.access.schemas import Actor
    from keel.flags import service as flags_service
    from keel.kit.db import standalone_transaction

    async with standalone_transaction(settings) as session:
        return await flags_service.seed_examples(session, Actor.system("cli"))
