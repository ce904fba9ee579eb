"""Usage metering: API calls counted in memory, flushed in batches that add up exactly."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from keel.config import Settings
from keel.kit import tenancy
from keel.kit.db import Database
from keel.plans import repository
from keel.plans.service import metering
from tests.helpers.tenancy import make_caller, make_org

CALLS = metering.API_CALLS_METRIC


async def stored(db: AsyncSession, org_id: uuid.UUID, period: str) -> int:
    await tenancy.enter_platform(db, reason="tests read the counters")
    row = await repository.counter(db, org_id, CALLS, period)
    if row is None:
        return 0
    await db.refresh(row)  # the flush wrote through another session
    return row.value


async def test_flush__several_orgs_and_batches__counters_add_up(
    db: AsyncSession, database: Database, settings: Settings
) -> None:
    # Given calls counted for two organizations
    owner = (await make_caller(db, settings)).user
    a, b = await make_org(db, owner), await make_org(db, owner)
    counter, period = metering.CallCounter(), metering.month()
    for _ in range(3):
        counter.count(a.id, period)
    counter.count(b.id, period)
    # When flushed, more counted, and flushed again
    assert await metering.flush_api_calls(database, counter) == 4
    counter.count(a.id, period)
    assert counter.pending(a.id, period) == 1
    assert await metering.flush_api_calls(database, counter) == 1
    # Then the stored counts are the sums, and nothing is pending
    assert (await stored(db, a.id, period), await stored(db, b.id, period)) == (4, 1)
    assert counter.pending(a.id, period) == 0
    assert await metering.flush_api_calls(database, counter) == 0


async def test_flush__organization_deleted_meanwhile__its_counts_dropped_others_kept(
    db: AsyncSession, database: Database, settings: Settings
) -> None:
    # Given counts for a live organization and one that no longer exists
    org = await make_org(db, (await make_caller(db, settings)).user)
    counter, period = metering.CallCounter(), metering.month()
    counter.count(org.id, period)
    counter.count(uuid.uuid4(), period)
    # When flushed, Then the live one is stored and the batch is not retried forever
    await metering.flush_api_calls(database, counter)
    assert await stored(db, org.id, period) == 1
    assert counter.take() == {}


async def test_flush__database_unreachable__counts_kept_for_the_next_flush(
    settings: Settings,
) -> None:
    # Given a database nobody listens on
    engine = create_async_engine("postgresql+asyncpg://keel@127.0.0.1:9/none")
    dead = Database(engine)
    counter, period, org_id = metering.CallCounter(), metering.month(), uuid.uuid4()
    counter.count(org_id, period)
    counter.count(org_id, period)
    # When a flush fails, Then nothing is lost
    assert await metering.flush_api_calls(dead, counter) == 0
    assert counter.pending(org_id, period) == 2
    await engine.dispose()


async def test_flush__two_processes__each_learns_the_shared_total(
    db: AsyncSession, database: Database, settings: Settings
) -> None:
    # Given two processes' counters counting calls of one organization
    org = await make_org(db, (await make_caller(db, settings)).user)
    first, second, period = metering.CallCounter(), metering.CallCounter(), metering.month()
    for _ in range(3):
        first.count(org.id, period)
    second.count(org.id, period)
    second.count(org.id, period)
    # When each flushes, Then each learns the total stored so far, the other's calls included
    await metering.flush_api_calls(database, first)
    await metering.flush_api_calls(database, second)
    assert (first.stored(org.id, period), second.stored(org.id, period)) == (3, 5)
    assert await stored(db, org.id, period) == 5


def test_learn__new_month__previous_totals_forgotten_and_late_ones_ignored() -> None:
    counter, org_id = metering.CallCounter(), uuid.uuid4()
    counter.learn(org_id, "2026-11", 7)
    counter.learn(org_id, "2026-12", 1)
    counter.learn(org_id, "2026-11", 9)  # a late flush of the old month
    assert (counter.stored(org_id, "2026-11"), counter.stored(org_id, "2026-12")) == (None, 1)
