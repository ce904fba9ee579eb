"""Builders for the audit tests: entries recorded through the service (so they are chained),
at a chosen moment, and statements run as the tables' owner (the role that can still alter
an append-only table, i.e. the tamperer)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.sql.expression import Executable

from keel.access.schemas import Actor
from keel.audit import service as audit_service
from keel.audit.models import AuditChain, AuditLog
from keel.audit.schemas import Target
from keel.config import Settings
from keel.kit import clock


def actor(org: uuid.UUID | None = None, *, user_id: uuid.UUID | None = None) -> Actor:
    return Actor(
        kind="user",
        id=str(user_id or uuid.uuid4()),
        organization_id=org,
        ip="203.0.113.9",
        user_agent="pytest/1.0",
        request_id="req-1",
    )


async def record_many(
    session: AsyncSession,
    org: uuid.UUID | None,
    count: int,
    *,
    action: str = "project.updated",
    by: Actor | None = None,
    **fields: Any,
) -> list[AuditLog]:
    who = by or actor(org)
    return [
        await audit_service.record(
            session, who, action, target=Target("project", f"p-{n}", org), **fields
        )
        for n in range(count)
    ]


@contextmanager
def at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> Iterator[None]:
    """Entries recorded inside the block happened at ``moment``."""
    with monkeypatch.context() as patch:
        patch.setattr(clock, "now", lambda: moment)
        yield


async def as_owner(settings: Settings, *statements: Executable) -> None:
    """Run committed statements as the tables' owner (the migration URL)."""
    url = settings.database.migration_url or settings.database_url
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(statement)
    finally:
        await engine.dispose()


async def chain_of(session: AsyncSession, chain: uuid.UUID) -> AuditChain:
    stmt = select(AuditChain).where(AuditChain.chain_id == chain)
    return (await session.scalars(stmt.execution_options(populate_existing=True))).one()


async def entries_of(session: AsyncSession, org: uuid.UUID) -> list[AuditLog]:
    stmt = select(AuditLog).where(AuditLog.organization_id == org).order_by(AuditLog.seq)
    return list((await session.scalars(stmt)).all())
