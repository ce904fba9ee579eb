from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.events.models import EventRecord


async def add(session: AsyncSession, record: EventRecord) -> None:
    session.add(record)
    await session.flush()


async def get(session: AsyncSession, event_id: uuid.UUID) -> EventRecord | None:
    return await session.get(EventRecord, event_id)


async def count(session: AsyncSession, *, name: str | None = None) -> int:
    stmt = select(func.count()).select_from(EventRecord)
    if name is not None:
        stmt = stmt.where(EventRecord.name == name)
    return int(await session.scalar(stmt) or 0)


async def newest(session: AsyncSession, *, name: str, limit: int) -> list[EventRecord]:
    """The latest events of one type (``ix_events_name_occurred_at``)."""
    stmt = (
        select(EventRecord)
        .where(EventRecord.name == name)
        .order_by(EventRecord.occurred_at.desc(), EventRecord.id.desc())
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())
