from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.audit.models import AuditLog


async def add(session: AsyncSession, entry: AuditLog) -> None:
    session.add(entry)
    await session.flush()


async def list_for_target(
    session: AsyncSession, *, target_type: str, target_id: str
) -> list[AuditLog]:
    stmt = (
        select(AuditLog)
        .where(AuditLog.target_type == target_type, AuditLog.target_id == target_id)
        .order_by(AuditLog.occurred_at, AuditLog.id)
    )
    return list((await session.scalars(stmt)).all())


async def list_for_organization(
    session: AsyncSession, organization_id: uuid.UUID, *, limit: int = 100
) -> list[AuditLog]:
    stmt = (
        select(AuditLog)
        .where(AuditLog.organization_id == organization_id)
        .order_by(AuditLog.occurred_at.desc(), AuditLog.id.desc())
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())
