"""``keel audit``: the audit log's hash chains.

``verify`` recomputes every chain (or one organization's with ``--org``) from its anchor and
exits 0 with a summary when each entry follows the previous one and hashes to what it stores,
1 naming the first broken entry of each broken chain (docs/audit.md has the recipe, to check
the same independently). ``--json`` prints the result as one JSON object instead.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import TYPE_CHECKING, Annotated

import typer

from keel.cli.output import FAILURE, database_errors, help_when_bare, load_settings

if TYPE_CHECKING:
    from keel.audit.schemas import VerifyReport
    from keel.config import Settings

app = typer.Typer(help="Inspect the audit log.")
app.callback(invoke_without_command=True)(help_when_bare)


@app.command("verify")
def verify(
    org: Annotated[
        uuid.UUID | None,
        typer.Option("--org", metavar="ID", help="Only this organization's chain."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Prove the audit log's hash chains intact: exit 0 if they are, 1 naming each break."""
    settings = load_settings()
    with database_errors(settings, "verify the audit log"):
        report = asyncio.run(_verify(settings, org))
    typer.echo(_json(report) if as_json else _text(report))
    if not report.ok:
        raise typer.Exit(FAILURE)


async def _verify(settings: Settings, org: uuid.UUID | None) -> VerifyReport:
    from keel.audit import service as audit_service
    from keel.kit.db import standalone_transaction

    async with standalone_transaction(settings) as session:
        return await audit_service.verify(session, org)


def _where(org: uuid.UUID | None) -> str:
    return f"organization {org}" if org else "platform chain"


def _text(report: VerifyReport) -> str:
    summary = f"{report.chains} chain(s), {report.entries} entries checked"
    if report.ok:
        return f"Audit log intact: {summary}."
    lines = [f"Audit log BROKEN: {summary}; {len(report.breaks)} chain(s) broken."]
    lines += [f"  {_where(b.organization_id)}: seq {b.seq}: {b.reason}" for b in report.breaks]
    return "\n".join(lines)


def _json(report: VerifyReport) -> str:
    breaks = [
        {
            "organization_id": str(b.organization_id) if b.organization_id else None,
            "seq": b.seq,
            "reason": b.reason,
        }
        for b in report.breaks
    ]
    return json.dumps(
        {"ok": report.ok, "chains": report.chains, "entries": report.entries, "breaks": breaks}
    )
