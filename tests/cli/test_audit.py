"""``keel audit verify`` against a committed SQLite database: exit 0 with a summary when the
chains are intact, 1 naming the organization and seq of a tampered entry; ``--json`` alike."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import update

from keel.audit.models import AuditLog
from keel.config import Settings
from tests.audit.builders import as_owner, record_many
from tests.cli.conftest import Cli
from tests.cli.support import committed, run


async def seed_chain(settings: Settings, count: int) -> uuid.UUID:
    org = uuid.uuid4()
    async with committed(settings) as session:
        await record_many(session, org, count)
    return org


def test_audit_verify__intact_chains__exit_0_with_summary(
    db_cli: Cli, db_settings: Settings
) -> None:
    # Given two organizations' chains
    run(lambda: seed_chain(db_settings, 3))
    org = run(lambda: seed_chain(db_settings, 2))
    # When every chain, then one, is verified
    every = db_cli("audit", "verify")
    one = db_cli("audit", "verify", "--org", str(org), "--json")
    # Then both pass with what they checked
    assert every.exit_code == 0, every.output
    assert every.stdout.strip() == "Audit log intact: 2 chain(s), 5 entries checked."
    assert one.exit_code == 0, one.output
    assert json.loads(one.stdout) == {"ok": True, "chains": 1, "entries": 2, "breaks": []}


def test_audit_verify__tampered_entry__exit_1_naming_org_and_seq(
    db_cli: Cli, db_settings: Settings
) -> None:
    # Given a chain whose second entry was rewritten behind Keel's back
    org = run(lambda: seed_chain(db_settings, 3))
    tamper = (
        update(AuditLog)
        .where(AuditLog.organization_id == org, AuditLog.seq == 2)
        .values(changes={"name": "forged"})
    )
    run(lambda: as_owner(db_settings, tamper))
    # When the chains are verified, as text and as JSON
    text = db_cli("audit", "verify")
    as_json = db_cli("audit", "verify", "--json")
    # Then both exit 1 and name the organization and the entry
    assert text.exit_code == 1
    assert f"organization {org}: seq 2: content does not match its hash" in text.stdout
    assert as_json.exit_code == 1
    body = json.loads(as_json.stdout)
    assert body["ok"] is False
    assert body["breaks"] == [
        {
            "organization_id": str(org),
            "seq": 2,
            "reason": "content does not match its hash (the entry was altered)",
        }
    ]


def test_audit_verify__malformed_org__usage_error(db_cli: Cli) -> None:
    result = db_cli("audit", "verify", "--org", "not-a-uuid")
    assert result.exit_code == 2
    assert result.stderr.startswith("error:")
