"""``plan.limit_approached`` / ``plan.limit_reached``: published when usage crosses 80 % /
100 % of a limit, where usage grows (``ensure_within_limit``, the API-call flush), once per
crossing and month."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.events.models import EventRecord
from keel.kit import tenancy
from keel.kit.db import Database
from keel.plans import rules
from keel.plans.service import metering, notices
from tests.helpers.tenancy import make_caller, make_org
from tests.plans.builders import create_project, free_org_with_projects

CROSSINGS = ("plan.limit_approached", "plan.limit_reached")


async def crossings(db: AsyncSession, org_id: uuid.UUID) -> list[tuple[str, dict[str, object]]]:
    await tenancy.enter_platform(db, reason="tests read the outbox")
    stmt = (
        select(EventRecord.name, EventRecord.payload)
        .where(EventRecord.organization_id == org_id, EventRecord.name.in_(CROSSINGS))
        .order_by(EventRecord.id)
        .execution_options(populate_existing=True)
    )
    return [(row.name, row.payload) for row in (await db.execute(stmt)).all()]


@pytest.mark.parametrize(
    ("limit", "before", "after", "expected"),
    [
        (10, 7, 8, 80),
        (10, 8, 9, None),  # already past 80 %
        (10, 9, 10, 100),
        (10, 7, 10, 100),  # both at once: the higher one
        (10, 10, 11, None),  # sitting above 100 % is not crossing it
        (3, 2, 3, 100),
        (10, 8, 7, None),  # going down
        (rules.UNLIMITED, 0, 10**6, None),
        (0, 0, 1, None),
    ],
)
def test_crossed_threshold__usage_moves__highest_threshold_crossed(
    limit: int, before: int, after: int, expected: int | None
) -> None:
    assert rules.crossed_threshold(limit, before=before, after=after) == expected


async def test_projects__free_plan_filled__limit_reached_published_once(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a free organization (3 projects) filled up through the API
    admin, org = await free_org_with_projects(client, db, settings, count=3)
    # When a fourth is refused
    assert (await create_project(client, admin, org, "P3")).status_code == 402
    # Then the third project's crossing of 80 % and 100 % was announced once, as reached
    assert await crossings(db, org.id) == [
        (
            "plan.limit_reached",
            {"feature": "max_projects", "limit": 3, "used": 3.0, "percent": 100.0, "plan": "free"},
        )
    ]


async def test_notice_crossing__same_threshold_twice_in_a_month__published_once(
    db: AsyncSession, settings: Settings
) -> None:
    # Given an organization whose usage crosses 80 % twice (it went down in between)
    owner = (await make_caller(db, settings)).user
    org = await make_org(db, owner)

    async def cross(before: int, after: int) -> int | None:
        return await notices.notice_crossing(
            db, org.id, metric="max_projects", limit=10, plan="free", before=before, after=after
        )

    first, again, reached = await cross(7, 8), await cross(7, 8), await cross(9, 10)
    # Then 80 % was announced once, and 100 % on its own
    assert (first, again, reached) == (80, None, 100)
    assert [name for name, _ in await crossings(db, org.id)] == list(CROSSINGS)


async def test_flush__api_calls_cross_80_then_100__each_announced_once(
    db: AsyncSession, database: Database, settings: Settings
) -> None:
    # Given an organization admitted with a quota of 10 calls this month
    owner = (await make_caller(db, settings)).user
    org = await make_org(db, owner)
    counter, period = metering.CallCounter(), metering.month()
    counter.note_quota(org.id, 10, "free")

    async def calls(count: int) -> None:
        for _ in range(count):
            counter.count(org.id, period)
        await metering.flush_api_calls(database, counter)

    # When 8 calls are flushed, then 1, then 2 more, then 5 more
    await calls(8)
    await calls(1)
    await calls(2)
    await calls(5)
    # Then 80 % was announced at the first flush and 100 % at the third, nothing after
    announced = await crossings(db, org.id)
    assert [(name, payload["used"]) for name, payload in announced] == [
        ("plan.limit_approached", 8.0),
        ("plan.limit_reached", 11.0),
    ]
