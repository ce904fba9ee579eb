"""``keel version``: the installed distribution's version, as packaging recorded it."""

from __future__ import annotations

from importlib.metadata import version as distribution_version

import typer


def version() -> None:
    """Print the installed Keel version."""
    typer.echo(f"keel {distribution_version('keel')}")
