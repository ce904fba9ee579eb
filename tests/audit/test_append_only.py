"""Append-only on PostgreSQL: the runtime role (the suite's ``keel_runtime_test``, as in
production) can insert audit entries but never change or remove one, nor move a chain's
anchor; only the purge function deletes, within the retention."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Executable

from keel.audit.models import AuditChain, AuditLog
from tests.audit.builders import chain_of, record_many
from tests.conftest import requires_postgres

pytestmark = requires_postgres


async def denied(db: AsyncSession, statement: Executable) -> None:
    with pytest.raises(DBAPIError, match="permission denied"):
        async with db.begin_nested():
            await db.execute(statement)


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(
            lambda org: update(AuditLog).where(AuditLog.organization_id == org).values(action="x"),
            id="update",
        ),
        pytest.param(
            lambda org: delete(AuditLog).where(AuditLog.organization_id == org), id="delete"
        ),
        pytest.param(lambda org: text("TRUNCATE audit_logs"), id="truncate"),
        pytest.param(
            lambda org: update(AuditChain).where(AuditChain.chain_id == org).values(anchor_seq=5),
            id="move-anchor",
        ),
        pytest.param(
            lambda org: delete(AuditChain).where(AuditChain.chain_id == org), id="drop-chain"
        ),
    ],
)
async def test_runtime_role__rewrites_the_trail__permission_denied(
    db: AsyncSession, statement: Callable[[uuid.UUID], Executable]
) -> None:
    # Given an organization's entries, written by the runtime role
    org = uuid.uuid4()
    await record_many(db, org, 2)
    # When the same role tries to change, remove or re-anchor them
    # Then PostgreSQL refuses, and the entries are as written
    await denied(db, statement(org))
    head = await chain_of(db, org)
    assert (head.seq, head.anchor_seq) == (2, 0)
