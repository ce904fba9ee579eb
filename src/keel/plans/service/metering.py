"""API calls per organization and month: counted in memory per request, flushed in batches.

A request only bumps a dict entry (no I/O); every :data:`FLUSH_SECONDS` the process adds its
counts to ``usage_counters`` with one upsert per organization, so processes add up exactly and
a crash loses at most one interval of one process's counts. Each upsert returns the stored
total, which the process keeps: the monthly quota is checked against that total plus this
process's unflushed calls, with no query on the request path (one read for an organization
the process has not flushed yet). Other processes' calls since this process's last flush of
the organization are the bounded slack, about one interval's worth.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from datetime import datetime

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import OrgAccess
from keel.kit import clock, tenancy
from keel.kit.db import Database
from keel.plans import repository, rules
from keel.plans.service import catalog as catalog_service
from keel.plans.service import notices
from keel.plans.service.gating import ensure_feature, limit_exceeded, register_meter

log = structlog.get_logger("plans")

API_CALLS_METRIC = "max_api_calls_per_month"
FLUSH_SECONDS = 5.0


def month(moment: datetime | None = None) -> str:
    return (moment or clock.now()).strftime("%Y-%m")


Slot = tuple[uuid.UUID, str]


class CallCounter:
    """This process's API calls not yet in the database, and the stored totals it last
    learned, by (organization, month)."""

    def __init__(self) -> None:
        self._counts: Counter[Slot] = Counter()
        self._stored: dict[Slot, int] = {}
        self._period = ""
        #: Each organization's monthly quota and plan as last admitted, for the flush to
        #: notice a crossing of 80 % / 100 % without reading the plan again.
        self._quotas: dict[uuid.UUID, tuple[int, str]] = {}

    def note_quota(self, org_id: uuid.UUID, quota: int, plan: str) -> None:
        self._quotas[org_id] = (quota, plan)

    def quota(self, org_id: uuid.UUID) -> tuple[int, str] | None:
        return self._quotas.get(org_id)

    def stored(self, org_id: uuid.UUID, period: str) -> int | None:
        return self._stored.get((org_id, period))

    def learn(self, org_id: uuid.UUID, period: str, total: int) -> None:
        """Remember a stored total of the newest month seen ("YYYY-MM" sorts by time); a
        new month forgets the previous one's."""
        if period < self._period:
            return
        if period > self._period:
            self._stored, self._period = {}, period
        self._stored[(org_id, period)] = total

    def count(self, org_id: uuid.UUID, period: str) -> None:
        self._counts[(org_id, period)] += 1

    def pending(self, org_id: uuid.UUID, period: str) -> int:
        return self._counts.get((org_id, period), 0)

    def take(self) -> Counter[Slot]:
        taken, self._counts = self._counts, Counter()
        return taken

    def give_back(self, counts: Counter[Slot]) -> None:
        self._counts.update(counts)


#: The process's counter: requests count into it, :func:`run_flusher` empties it.
API_CALLS = CallCounter()


async def admit_request(
    session: AsyncSession, org: OrgAccess, *, counter: CallCounter = API_CALLS
) -> rules.RateLimit | None:
    """Before a tenant request runs: an API key needs ``api_access``; the monthly API quota
    must have room; the call is counted. Returns the plan's ``api`` rate limit (None:
    unlimited) for the caller to enforce."""
    if org.actor.kind == "api_key":
        await ensure_feature(session, org, "api_access")
    granted = await catalog_service.entitlements_for(session, org.org_id, org.plan)
    period = month()
    quota = granted.limit(API_CALLS_METRIC)
    if quota != rules.UNLIMITED:
        used = await _known_total(session, counter, org.org_id, period)
        used += counter.pending(org.org_id, period)
        if not rules.within(quota, current=used):
            plans = (await catalog_service.plan_catalog(session)).values()
            raise limit_exceeded(granted, API_CALLS_METRIC, plans, used)
        counter.note_quota(org.org_id, quota, granted.plan.key)
    counter.count(org.org_id, period)
    return granted.rate_limits.get("api")


async def _known_total(
    session: AsyncSession, counter: CallCounter, org_id: uuid.UUID, period: str
) -> int:
    known = counter.stored(org_id, period)
    if known is None:
        known = await stored_calls(session, org_id, period)
        counter.learn(org_id, period, known)
    return known


async def stored_calls(session: AsyncSession, org_id: uuid.UUID, period: str) -> int:
    row = await repository.counter(session, org_id, API_CALLS_METRIC, period)
    return 0 if row is None else row.value


async def api_calls(session: AsyncSession, org: OrgAccess, counter: CallCounter = API_CALLS) -> int:
    """The meter of ``max_api_calls_per_month``: stored plus this process's pending calls."""
    period = month()
    return await stored_calls(session, org.org_id, period) + counter.pending(org.org_id, period)


async def flush_api_calls(database: Database, counter: CallCounter = API_CALLS) -> int:
    """Add the pending counts to the database; on failure they go back to the counter."""
    counts = counter.take()
    if not counts:
        return 0
    try:
        async with database.sessionmaker() as session, session.begin():
            await tenancy.enter_platform(session, reason="usage counters of many organizations")
            for (org_id, period), calls in sorted(counts.items()):
                total = await _add(session, org_id, period, calls)
                if total is not None:
                    counter.learn(org_id, period, total)
                    await _notice(session, counter, org_id, before=total - calls, after=total)
    except Exception:
        counter.give_back(counts)
        log.warning("plans.usage_flush_failed", organizations=len(counts), exc_info=True)
        return 0
    return sum(counts.values())


async def _add(session: AsyncSession, org_id: uuid.UUID, period: str, calls: int) -> int | None:
    """One organization's upsert in a SAVEPOINT, returning the new total: an organization
    deleted meanwhile (its counter's foreign key fails) loses its counts instead of blocking
    every later flush."""
    try:
        async with session.begin_nested():
            return await repository.add_to_counter(session, org_id, API_CALLS_METRIC, period, calls)
    except IntegrityError:
        log.info("plans.usage_dropped", organization_id=str(org_id), calls=calls)
        return None


async def _notice(
    session: AsyncSession, counter: CallCounter, org_id: uuid.UUID, *, before: int, after: int
) -> None:
    """The flush is where the stored monthly total grows, so where it crosses 80 % / 100 %."""
    terms = counter.quota(org_id)
    if terms is not None:
        quota, plan = terms
        await notices.notice_crossing(
            session,
            org_id,
            metric=API_CALLS_METRIC,
            limit=quota,
            plan=plan,
            before=before,
            after=after,
        )


async def run_flusher(
    database: Database, *, every: float = FLUSH_SECONDS, counter: CallCounter = API_CALLS
) -> None:
    """The lifespan task: flush every ``every`` seconds, and once more when cancelled."""
    try:
        while True:
            await asyncio.sleep(every)
            await flush_api_calls(database, counter)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(flush_api_calls(database, counter))


register_meter(API_CALLS_METRIC, api_calls)
