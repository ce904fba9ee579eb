"""The hash chain: every entry is chained into its organization's chain as it is recorded,
``verify`` recomputes the chains, and any tampering by the tables' owner is found and
named (organization and seq)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from keel.audit import service as audit_service
from keel.audit.models import GENESIS, PLATFORM_CHAIN, AuditLog
from keel.audit.schemas import VerifyReport
from keel.config import Settings
from keel.kit.db import Database
from tests.audit.builders import actor, as_owner, chain_of, entries_of, record_many


async def test_record__three_entries__seq_and_prev_hash_link_them(db: AsyncSession) -> None:
    # Given an organization without entries
    org = uuid.uuid4()
    # When three entries are recorded
    first, second, third = await record_many(db, org, 3)
    # Then they count 1, 2, 3, each pointing at the previous one's hash, and the chain's head
    # is the last
    assert [e.seq for e in (first, second, third)] == [1, 2, 3]
    assert (first.prev_hash, second.prev_hash, third.prev_hash) == (
        GENESIS,
        first.hash,
        second.hash,
    )
    head = await chain_of(db, org)
    assert (head.seq, head.hash, head.anchor_seq, head.anchor_hash) == (3, third.hash, 0, GENESIS)
    stored = await entries_of(db, org)
    assert [(e.seq, e.hash) for e in stored] == [(e.seq, e.hash) for e in (first, second, third)]


async def test_record__two_organizations_and_platform__one_chain_each(db: AsyncSession) -> None:
    # Given two organizations
    a, b = uuid.uuid4(), uuid.uuid4()
    platform_before = (await chain_of(db, PLATFORM_CHAIN)).seq if await _has_platform(db) else 0
    # When entries are recorded in each, and one without an organization
    await record_many(db, a, 2)
    [b1] = await record_many(db, b, 1)
    [p] = await record_many(db, None, 1)
    # Then each chain counts on its own
    assert (await chain_of(db, a)).seq == 2
    assert (b1.seq, b1.prev_hash) == (1, GENESIS)
    assert p.organization_id is None and p.seq == platform_before + 1


async def _has_platform(db: AsyncSession) -> bool:
    return bool(
        await db.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.organization_id.is_(None))
        )
    )


async def test_record__user_actor__person_recorded_for_the_query_api(db: AsyncSession) -> None:
    user_id = uuid.uuid4()
    [entry] = await record_many(db, uuid.uuid4(), 1, by=actor(user_id=user_id))
    assert entry.actor_user_id == user_id


async def test_verify__untouched_chains__ok_with_counts(db: AsyncSession) -> None:
    # Given two organizations' entries
    a, b = uuid.uuid4(), uuid.uuid4()
    await record_many(db, a, 3)
    await record_many(db, b, 2)
    # When one organization's chain, then every chain, is verified
    one = await audit_service.verify(db, a)
    every = await audit_service.verify(db)
    # Then both pass, having checked every entry
    assert (one.ok, one.chains, one.entries) == (True, 1, 3)
    assert every.ok and every.chains >= 2 and every.entries >= 5


async def _committed_chain(database: Database, count: int) -> uuid.UUID:
    org = uuid.uuid4()
    async with database.transaction() as session:
        await record_many(session, org, count)
    return org


async def _verify(database: Database, org: uuid.UUID) -> VerifyReport:
    async with database.transaction() as session:
        return await audit_service.verify(session, org)


async def test_verify__row_altered_by_owner__fails_naming_org_and_seq(
    committed_database: Database, migrated: Settings
) -> None:
    # Given a committed chain of four entries that verifies
    org = await _committed_chain(committed_database, 4)
    assert (await _verify(committed_database, org)).ok
    # When the tables' owner rewrites the third entry's action
    await as_owner(
        migrated,
        update(AuditLog)
        .where(AuditLog.organization_id == org, AuditLog.seq == 3)
        .values(action="project.viewed"),
    )
    # Then verification fails at that entry, naming the organization
    report = await _verify(committed_database, org)
    assert not report.ok
    [broken] = report.breaks
    assert (broken.organization_id, broken.seq) == (org, 3)
    assert "altered" in broken.reason


@pytest.mark.parametrize(
    ("length", "deleted", "reason"),
    [
        # a gap: the entry after it names the missing one
        pytest.param(4, 2, "entry 2 is missing", id="a_middle_entry"),
        # the newest, hiding the last thing that happened: the chain stops short of its head
        pytest.param(3, 3, "head is at 3", id="the_last_entry"),
    ],
)
async def test_verify__entry_deleted_by_owner__fails_where_the_chain_breaks(
    committed_database: Database, migrated: Settings, length: int, deleted: int, reason: str
) -> None:
    # Given a committed chain
    org = await _committed_chain(committed_database, length)
    # When the owner deletes one entry
    await as_owner(
        migrated, delete(AuditLog).where(AuditLog.organization_id == org, AuditLog.seq == deleted)
    )
    # Then verification names where the chain breaks
    [broken] = (await _verify(committed_database, org)).breaks
    assert broken.seq == 3 and reason in broken.reason


async def test_record__concurrent_transactions_on_one_organization__one_valid_chain(
    committed_database: Database,
) -> None:
    # Given one organization and eight writers, each a transaction recording five entries
    # and yielding between them so the transactions overlap
    org = uuid.uuid4()

    async def writer() -> None:
        async with committed_database.transaction() as session:
            for _ in range(5):
                await record_many(session, org, 1)
                await asyncio.sleep(0)

    # When they all run at once
    await asyncio.gather(*(writer() for _ in range(8)))
    # Then the chain holds 40 entries, 1..40 without gap or fork, and verifies
    report = await _verify(committed_database, org)
    assert (report.ok, report.entries) == (True, 40), report.breaks
    async with committed_database.transaction() as session:
        assert [e.seq for e in await entries_of(session, org)] == list(range(1, 41))
