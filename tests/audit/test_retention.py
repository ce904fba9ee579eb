"""Retention: the daily purge deletes each chain's entries past the organization's plan
retention (oldest first, a prefix of the chain), moves the chain's anchor, and the chain still
verifies. On PostgreSQL the database itself refuses to purge younger entries."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from keel.audit import repository
from keel.audit import service as audit_service
from keel.audit.errors import PurgeRefused
from keel.kit import clock, tenancy
from keel.organizations.models import Organization
from tests.audit.builders import at, chain_of, entries_of, record_many
from tests.conftest import requires_postgres


async def make_organization(db: AsyncSession, *, plan: str = "free") -> Organization:
    """An organization row with no entries yet (so a test decides its chain's history)."""
    await tenancy.enter_platform(db, reason="tests build an organization directly")
    org = Organization(name="Retained", slug=f"r-{uuid.uuid4().hex[:10]}", plan=plan)
    db.add(org)
    await db.flush()
    return org


@pytest.mark.parametrize(
    ("plan", "age_days", "purged"),
    [
        ("free", 8, True),
        ("free", 6, False),
        ("professional", 91, True),
        ("professional", 60, False),
    ],
)
async def test_purge_expired__entries_past_plan_retention__deleted_chain_still_verifies(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch, plan: str, age_days: int, purged: bool
) -> None:
    # Given an organization whose chain has three entries ``age_days`` old, then two today
    org = await make_organization(db, plan=plan)
    with at(monkeypatch, clock.now() - timedelta(days=age_days)):
        old = await record_many(db, org.id, 3)
    await record_many(db, org.id, 2)
    # When the retention sweep runs
    deleted = await audit_service.purge_expired(db, platform_days=365)
    # Then the old entries are gone exactly when past the plan's retention (free 7 days,
    # professional 90), the anchor is the last purged entry, and the chain verifies
    remaining = [e.seq for e in await entries_of(db, org.id)]
    head = await chain_of(db, org.id)
    if purged:
        assert deleted.get(org.id) == 3
        assert remaining == [4, 5]
        assert (head.anchor_seq, head.anchor_hash) == (3, old[-1].hash)
    else:
        assert org.id not in deleted
        assert remaining == [1, 2, 3, 4, 5]
    report = await audit_service.verify(db, org.id)
    assert (report.ok, report.entries) == (True, len(remaining)), report.breaks


async def test_purge_expired__old_entry_after_a_young_one__kept_so_the_chain_stays_whole(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a chain whose first entry is young and second (a clock skew) old
    org = await make_organization(db)
    await record_many(db, org.id, 1)
    with at(monkeypatch, clock.now() - timedelta(days=30)):
        await record_many(db, org.id, 1)
    # When the sweep runs
    await audit_service.purge_expired(db, platform_days=365)
    # Then nothing is deleted: only a prefix of the chain may go
    assert [e.seq for e in await entries_of(db, org.id)] == [1, 2]


async def test_purge_expired__enterprise_override_keeps_forever__nothing_deleted(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an organization whose override keeps the audit log forever (-1)
    from keel.plans.models import PlanOverride

    org = await make_organization(db)
    db.add(
        PlanOverride(organization_id=org.id, features={"audit_retention_days": -1}, rate_limits={})
    )
    await db.flush()
    with at(monkeypatch, clock.now() - timedelta(days=400)):
        await record_many(db, org.id, 2)
    # When the sweep runs
    deleted = await audit_service.purge_expired(db, platform_days=365)
    # Then its entries stay
    assert org.id not in deleted
    assert len(await entries_of(db, org.id)) == 2


@requires_postgres
async def test_purge__younger_than_retention_on_postgres__refused_by_the_database(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a free organization (7 days) with entries 3 days old
    org = await make_organization(db)
    with at(monkeypatch, clock.now() - timedelta(days=3)):
        await record_many(db, org.id, 2)
    # When the purge function is asked to delete entries younger than a day
    # Then the database refuses, and nothing is deleted
    with pytest.raises(PurgeRefused):
        async with db.begin_nested():
            await repository.purge(db, org.id, keep_days=1)
    assert len(await entries_of(db, org.id)) == 2


@requires_postgres
async def test_purge__runtime_role_direct_delete__denied(db: AsyncSession) -> None:
    # Given entries of an organization
    org = uuid.uuid4()
    await record_many(db, org, 1)
    # When the runtime role deletes them without the purge function
    # Then PostgreSQL denies it
    from sqlalchemy import delete

    from keel.audit.models import AuditLog

    with pytest.raises(DBAPIError, match="permission denied"):
        async with db.begin_nested():
            await db.execute(delete(AuditLog).where(AuditLog.organization_id == org))
