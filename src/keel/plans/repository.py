"""Every query on the plans tables. The catalog is platform-wide; overrides and usage counters
are tenant rows, read and written under the tenant (or platform mode) the caller entered."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from keel.kit.ids import new_id
from keel.plans.models import Plan, PlanOverride, UsageCounter


async def plans(session: AsyncSession) -> list[Plan]:
    return list(await session.scalars(select(Plan).order_by(Plan.sort_order, Plan.key)))


async def plan(session: AsyncSession, key: str) -> Plan | None:
    found: Plan | None = await session.scalar(select(Plan).where(Plan.key == key))
    return found


async def override(session: AsyncSession, org_id: uuid.UUID) -> PlanOverride | None:
    found: PlanOverride | None = await session.scalar(
        select(PlanOverride).where(PlanOverride.organization_id == org_id)
    )
    return found


def add(session: AsyncSession, row: Plan | PlanOverride | UsageCounter) -> None:
    session.add(row)


async def delete(session: AsyncSession, row: PlanOverride) -> None:
    await session.delete(row)


async def counter(
    session: AsyncSession, org_id: uuid.UUID, metric: str, period: str
) -> UsageCounter | None:
    found: UsageCounter | None = await session.scalar(
        select(UsageCounter).where(
            UsageCounter.organization_id == org_id,
            UsageCounter.metric == metric,
            UsageCounter.period == period,
        )
    )
    return found


async def add_to_counter(
    session: AsyncSession, org_id: uuid.UUID, metric: str, period: str, delta: int
) -> int:
    """``value += delta`` as one upsert, so flushers in several processes add up exactly;
    returns the new total."""
    builder = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = builder(UsageCounter).values(
        id=new_id(), organization_id=org_id, metric=metric, period=period, value=delta
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["organization_id", "metric", "period"],
        set_={"value": UsageCounter.value + delta},
    )
    return int((await session.execute(stmt.returning(UsageCounter.value))).scalar_one())
