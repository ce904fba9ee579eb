"""``keel doctor``: a preflight that checks configuration and every dependency before Keel
serves, and says how to fix what is wrong. The checks live in
:mod:`keel.observability.service`; this module only prints them."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from keel.models import metadata
from keel.observability import service
from keel.observability.schemas import PreflightCheck
from keel.observability.service import tenancy_checks

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def doctor() -> None:
    """Check configuration, secret key, data dir, database, migrations, row-level security
    (PostgreSQL), Redis and SMTP. Exits 1 when any check fails."""
    settings, configuration = service.load_settings()
    checks = [configuration]
    if settings is not None:
        tables = tenancy_checks.tenant_tables(metadata)
        checks += asyncio.run(service.preflight(settings, tenant_tables=tables))
    console = Console()
    console.print(_table(checks))
    failures = [check for check in checks if check.status == "fail"]
    # The table wraps long details; each failure is repeated on one unbroken line so it can
    # be read, grepped and pasted whole.
    for check in failures:
        line = Text.assemble(("✗ ", "bold red"), f"{check.name}: {check.detail}")
        console.print(line, soft_wrap=True)
    if failures:
        raise typer.Exit(code=1)


def _table(checks: list[PreflightCheck]) -> Table:
    table = Table(title="keel doctor")
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    for check in checks:
        status = Text(check.status, style=_STYLE[check.status])
        table.add_row(check.name, status, Text(check.detail))
    return table
