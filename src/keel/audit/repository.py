"""Every query on the audit tables.

Writes go through :func:`advance_chain` then :func:`append`: the first locks the chain's head
row (an upsert, so the first entry of a new chain needs no extra statement) and returns the
previous hash; on PostgreSQL the second inserts the entry and moves the head in one statement,
so an audited request pays one extra round trip.

The query API reads the users' email and name through a bare ``users`` table clause: audit sits
below users in the domain order, and a join costs less than a second lookup per page. The
retention sweep reads plans and organizations the same way, as the purge function in the
migration does.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Select,
    String,
    Table,
    Uuid,
    bindparam,
    column,
    delete,
    func,
    insert,
    select,
    table,
    update,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from keel.audit import rules
from keel.audit.errors import PurgeRefused
from keel.audit.models import GENESIS, PLATFORM_CHAIN, AuditChain, AuditLog
from keel.audit.schemas import AuditFilters
from keel.kit import clock

_CHAINS = cast(Table, AuditChain.__table__)
_LOGS = cast(Table, AuditLog.__table__)
_USERS = table("users", column("id", Uuid()), column("email", String()), column("name", String()))
_ORGS = table("organizations", column("id", Uuid()), column("plan", String()))
_PLANS = table("plans", column("key", String()), column("features", JSON()))
_OVERRIDES = table("plan_overrides", column("organization_id", Uuid()), column("features", JSON()))
_RETENTION_KEY = "audit_retention_days"

#: One entry of the query API: the row and its actor's email and name (None if unknown).
EntryRow = tuple[AuditLog, str | None, str | None]


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _advance(dialect: Any) -> Any:
    stmt = dialect.insert(_CHAINS).values(
        chain_id=bindparam("chain"), seq=1, hash=GENESIS, anchor_seq=0, anchor_hash=GENESIS
    )
    return stmt.on_conflict_do_update(
        index_elements=[_CHAINS.c.chain_id], set_={"seq": _CHAINS.c.seq + 1}
    ).returning(_CHAINS.c.seq, _CHAINS.c.hash)


# Built once with bound parameters, so each write reuses the compiled statement.
_ADVANCE = {"postgresql": _advance(postgresql), "sqlite": _advance(sqlite)}
_INSERT = insert(_LOGS).values({c.name: bindparam(f"entry_{c.name}") for c in _LOGS.c})
_MOVE_HEAD = (
    update(_CHAINS)
    .where(_CHAINS.c.chain_id == bindparam("head_chain"))
    .values(hash=bindparam("head_hash"))
)
_APPEND_POSTGRES = _MOVE_HEAD.add_cte(_INSERT.cte("appended"))


async def advance_chain(session: AsyncSession, chain: uuid.UUID) -> tuple[int, str]:
    """Lock the chain's head until the transaction ends; (the new entry's seq, the previous
    entry's hash)."""
    dialect = "postgresql" if _postgres(session) else "sqlite"
    seq, prev_hash = (await session.execute(_ADVANCE[dialect], {"chain": chain})).one()
    return int(seq), str(prev_hash)


async def append(session: AsyncSession, row: dict[str, Any], *, chain: uuid.UUID) -> None:
    """Insert the entry and make it the chain's head (one statement on PostgreSQL)."""
    entry = {f"entry_{name}": value for name, value in row.items()}
    head = {"head_chain": chain, "head_hash": row["hash"]}
    if _postgres(session):
        await session.execute(_APPEND_POSTGRES, {**entry, **head})
        return
    await session.execute(_INSERT, entry)
    await session.execute(_MOVE_HEAD, head)


def _chain_filter(chain: uuid.UUID) -> Any:
    if chain == PLATFORM_CHAIN:
        return AuditLog.organization_id.is_(None)
    return AuditLog.organization_id == chain


# --- reading ---------------------------------------------------------------------------------


def _entries(organization_id: uuid.UUID, filters: AuditFilters) -> Select[Any]:
    stmt = (
        select(AuditLog, _USERS.c.email, _USERS.c.name)
        .outerjoin(_USERS, _USERS.c.id == AuditLog.actor_user_id)
        .where(AuditLog.organization_id == organization_id)
    )
    if filters.actor is not None:
        stmt = stmt.where(AuditLog.actor_id == filters.actor)
    if filters.action is not None:
        action, prefix = rules.action_matches(filters.action)
        where = AuditLog.action.startswith(action, autoescape=True) if prefix else None
        stmt = stmt.where(where if where is not None else AuditLog.action == action)
    if filters.target_type is not None:
        stmt = stmt.where(AuditLog.target_type == filters.target_type)
    if filters.target_id is not None:
        stmt = stmt.where(AuditLog.target_id == filters.target_id)
    if filters.since is not None:
        stmt = stmt.where(AuditLog.occurred_at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(AuditLog.occurred_at < filters.until)
    return stmt


async def page(
    session: AsyncSession,
    organization_id: uuid.UUID,
    filters: AuditFilters,
    *,
    before_seq: int | None,
    limit: int,
) -> list[EntryRow]:
    """Newest first: ``limit`` entries with a seq below ``before_seq``."""
    stmt = _entries(organization_id, filters)
    if before_seq is not None:
        stmt = stmt.where(AuditLog.seq < before_seq)
    rows = await session.execute(stmt.order_by(AuditLog.seq.desc()).limit(limit))
    return [(entry, email, name) for entry, email, name in rows.all()]


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
        .order_by(AuditLog.seq.desc())
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


# --- the chains --------------------------------------------------------------------------------


async def chains(session: AsyncSession, chain: uuid.UUID | None = None) -> list[AuditChain]:
    stmt = select(AuditChain).order_by(AuditChain.chain_id)
    if chain is not None:
        stmt = stmt.where(AuditChain.chain_id == chain)
    return list((await session.scalars(stmt)).all())


async def chain_entries(
    session: AsyncSession, chain: uuid.UUID, *, after_seq: int, limit: int
) -> Sequence[AuditLog]:
    """The next ``limit`` entries of the chain after ``after_seq``, in chain order."""
    stmt = (
        select(AuditLog)
        .where(_chain_filter(chain), AuditLog.seq > after_seq)
        .order_by(AuditLog.seq)
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()


# --- retention ---------------------------------------------------------------------------------


async def retention_days(session: AsyncSession) -> list[tuple[uuid.UUID, int | None, bool]]:
    """(chain, the organization's retention in days or None, whether the organization still
    exists) for every chain; the caller must have entered the platform scope."""
    days = func.coalesce(
        _OVERRIDES.c.features[_RETENTION_KEY].as_integer(),
        _PLANS.c.features[_RETENTION_KEY].as_integer(),
    )
    stmt = (
        select(_CHAINS.c.chain_id, days, _ORGS.c.id.is_not(None))
        .select_from(_CHAINS)
        .outerjoin(_ORGS, _ORGS.c.id == _CHAINS.c.chain_id)
        .outerjoin(_PLANS, _PLANS.c.key == _ORGS.c.plan)
        .outerjoin(_OVERRIDES, _OVERRIDES.c.organization_id == _ORGS.c.id)
        .order_by(_CHAINS.c.chain_id)
    )
    return [(row[0], row[1], bool(row[2])) for row in (await session.execute(stmt)).all()]


async def purge(session: AsyncSession, chain: uuid.UUID, *, keep_days: int | None) -> int:
    """Delete the chain's oldest entries older than ``keep_days`` (a prefix of the chain, so
    it stays verifiable from the new anchor). On PostgreSQL through ``keel_audit_purge``,
    which works out the organization's retention itself (``keep_days`` None), refuses a
    shorter one, and counts days from the database's clock."""
    if not _postgres(session):
        before = rules.retention_cutoff(keep_days, now=clock.now())
        assert before is not None, "SQLite has no purge function: give the retention"
        return await _purge_directly(session, chain, before=before)
    try:
        deleted = await session.scalar(
            sql_text("SELECT keel_audit_purge(:chain, :keep_days)"),
            {"chain": chain, "keep_days": keep_days},
        )
    except DBAPIError as exc:
        if "audit purge refused" not in str(exc.orig):
            raise
        raise PurgeRefused(str(exc.orig).split("refused: ", 1)[-1]) from None
    return int(deleted or 0)


async def _purge_directly(session: AsyncSession, chain: uuid.UUID, *, before: datetime) -> int:
    young = select(func.min(AuditLog.seq)).where(
        _chain_filter(chain), AuditLog.occurred_at >= before
    )
    first_young = await session.scalar(young)
    last = select(func.max(AuditLog.seq)).where(_chain_filter(chain), AuditLog.occurred_at < before)
    if first_young is not None:
        last = last.where(AuditLog.seq < first_young)
    last_seq = await session.scalar(last)
    if last_seq is None:
        return 0
    anchor = await session.scalar(
        select(AuditLog.hash).where(_chain_filter(chain), AuditLog.seq == last_seq)
    )
    await session.execute(
        update(_CHAINS)
        .where(_CHAINS.c.chain_id == chain)
        .values(anchor_seq=last_seq, anchor_hash=anchor, purged_at=clock.now())
    )
    result: Any = await session.execute(
        delete(AuditLog).where(_chain_filter(chain), AuditLog.seq <= last_seq)
    )
    return int(result.rowcount)
