"""The audit domain's API.

- ``record``: the one way an audit entry is written (GUIDE §3.5), chained into its
  organization's hash chain;
- ``list_entries`` and ``export``: the organization's log, a page at a time or streamed;
- ``verify``: recompute every chain from its anchor;
- ``purge_expired``: the retention sweep (per plan; platform entries per settings).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor, OrgAccess
from keel.audit import repository, rules
from keel.audit.errors import InvalidTimeRange
from keel.audit.models import PLATFORM_CHAIN, AuditChain, AuditLog
from keel.audit.schemas import (
    ActorRead,
    AuditEntryRead,
    AuditFilters,
    ChainBreak,
    ExportFormat,
    Target,
    TargetRead,
    VerifyReport,
)
from keel.kit import clock
from keel.kit.db import Database
from keel.kit.ids import new_id
from keel.kit.repository import Window, decode_cursor, encode_cursor, invalid_cursor
from keel.kit.schemas import PageParams

VERIFY_BATCH = 2000


async def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    *,
    target: Target | None = None,
    changes: dict[str, Any] | None = None,
    organization_id: uuid.UUID | None = None,
    context: dict[str, Any] | None = None,
) -> AuditLog:
    """Write an entry in the caller's transaction: it exists exactly when the change does.

    ``action`` is ``entity.verb`` (``project.created``). The organization is the one given,
    else the target's, else the actor's. Secret-looking fields and values in ``changes`` and
    ``context`` are masked. The chain's head stays locked until the transaction ends, so
    concurrent writers of one organization queue there (keep audited transactions short).
    """
    org = organization_id or (target.organization_id if target else None) or actor.organization_id
    chain = rules.chain_id(org)
    seq, prev_hash = await repository.advance_chain(session, chain)
    fields: dict[str, Any] = {
        "id": new_id(),
        "organization_id": org,
        "seq": seq,
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "actor_user_id": _person(actor),
        "action": action,
        "target_type": target.type if target else None,
        "target_id": target.id if target else None,
        "changes": rules.as_json(rules.mask_secrets(changes)) if changes else None,
        "context": rules.as_json(rules.mask_secrets(context)) if context else None,
        "ip": actor.ip,
        "user_agent": (actor.user_agent or "")[:500] or None,
        "request_id": actor.request_id,
        "occurred_at": clock.now(),
    }
    row = {**fields, "prev_hash": prev_hash, "hash": rules.chain_hash(prev_hash, fields)}
    await repository.append(session, row, chain=chain)
    return AuditLog(**row)


def _person(actor: Actor) -> uuid.UUID | None:
    try:
        return actor.user_id
    except ValueError:  # a user actor whose id is not a UUID (a test's or a script's)
        return None


# --- reading ---------------------------------------------------------------------------------


async def list_entries(
    session: AsyncSession, org: OrgAccess, filters: AuditFilters, page: PageParams
) -> Window[AuditEntryRead]:
    _check(filters)
    before = _before_seq(page.cursor) if page.cursor else None
    rows = await repository.page(
        session, org.org_id, filters, before_seq=before, limit=page.limit + 1
    )
    items = [_read(*row) for row in rows[: page.limit]]
    more = len(rows) > page.limit
    return Window(items=items, next_cursor=encode_cursor([items[-1].seq]) if more else None)


def _check(filters: AuditFilters) -> None:
    if filters.since and filters.until and filters.since >= filters.until:
        raise InvalidTimeRange(
            "since must be before until.",
            errors=[{"field": "query.since", "message": "must be before until"}],
        )


def _read(entry: AuditLog, email: str | None, name: str | None) -> AuditEntryRead:
    return AuditEntryRead(
        id=entry.id,
        seq=entry.seq,
        occurred_at=entry.occurred_at,
        actor=ActorRead(
            kind=entry.actor_kind,
            id=entry.actor_id,
            user_id=entry.actor_user_id,
            email=email,
            name=name,
        ),
        action=entry.action,
        target=TargetRead(type=entry.target_type, id=entry.target_id),
        changes=entry.changes,
        context=entry.context,
        ip=entry.ip,
        user_agent=entry.user_agent,
        request_id=entry.request_id,
        hash=entry.hash,
    )


def _before_seq(cursor: str) -> int:
    """The shared keyset cursor, holding one ``seq``; chains start at 1."""
    [seq] = decode_cursor(cursor, [AuditLog.seq])
    if seq < 1:
        raise invalid_cursor()
    return int(seq)


async def record_export(
    session: AsyncSession, org: OrgAccess, filters: AuditFilters, fmt: ExportFormat
) -> None:
    _check(filters)
    await record(
        session,
        org.actor,
        "audit_log.exported",
        target=Target("audit_log", str(org.org_id), org.org_id),
        context={"format": fmt, "filters": {k: v for k, v in _filters(filters).items() if v}},
    )


def _filters(filters: AuditFilters) -> dict[str, Any]:
    return {
        "actor": filters.actor,
        "action": filters.action,
        "target_type": filters.target_type,
        "target_id": filters.target_id,
        "since": filters.since.isoformat() if filters.since else None,
        "until": filters.until.isoformat() if filters.until else None,
    }


async def export(
    database: Database,
    org_id: uuid.UUID,
    filters: AuditFilters,
    fmt: ExportFormat,
    *,
    batch_rows: int,
) -> AsyncIterator[str]:
    """The matching entries, newest first, as CSV (with a header) or JSON lines: one read
    transaction (a consistent snapshot), ``batch_rows`` rows per query, nothing kept."""
    if fmt == "csv":
        yield _csv_line(rules.EXPORT_COLUMNS)
    async with database.read_sessionmaker() as session, session.begin():
        before: int | None = None
        while True:
            rows = await repository.page(
                session, org_id, filters, before_seq=before, limit=batch_rows
            )
            if not rows:
                return
            yield "".join(_export_line(_read(*row), fmt) for row in rows)
            before = rows[-1][0].seq
            session.expunge_all()


def _export_line(entry: AuditEntryRead, fmt: ExportFormat) -> str:
    if fmt == "jsonl":
        return entry.model_dump_json() + "\n"
    values = {
        **entry.model_dump(mode="json", include={"seq", "occurred_at", "action", "ip", "hash"}),
        "actor_kind": entry.actor.kind,
        "actor_id": entry.actor.id,
        "actor_email": entry.actor.email,
        "actor_name": entry.actor.name,
        "target_type": entry.target.type,
        "target_id": entry.target.id,
        "changes": json.dumps(entry.changes, sort_keys=True) if entry.changes else None,
        "user_agent": entry.user_agent,
        "request_id": entry.request_id,
    }
    return _csv_line(
        [
            rules.neutralize_cell(str(values[name])) if values[name] is not None else ""
            for name in rules.EXPORT_COLUMNS
        ]
    )


def _csv_line(cells: tuple[str, ...] | list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue()


# --- verification ------------------------------------------------------------------------------


async def verify(session: AsyncSession, organization_id: uuid.UUID | None = None) -> VerifyReport:
    """Recompute every chain (or one organization's) from its anchor: each entry must follow
    the previous one (seq + 1, its hash as prev_hash), hash to what it stores, and the last
    must be the chain's head."""
    report = VerifyReport()
    selected = None if organization_id is None else rules.chain_id(organization_id)
    for chain in await repository.chains(session, selected):
        report.chains += 1
        broken = await _verify_chain(session, chain, report)
        if broken is not None:
            report.breaks.append(broken)
    return report


async def _verify_chain(
    session: AsyncSession, chain: AuditChain, report: VerifyReport
) -> ChainBreak | None:
    org = None if chain.chain_id == PLATFORM_CHAIN else chain.chain_id
    seq, prev = chain.anchor_seq, chain.anchor_hash
    while True:
        entries = await repository.chain_entries(
            session, chain.chain_id, after_seq=seq, limit=VERIFY_BATCH
        )
        for entry in entries:
            problem = _problem(entry, seq + 1, prev)
            if problem is not None:
                return ChainBreak(org, entry.seq, problem)
            report.entries += 1
            seq, prev = entry.seq, entry.hash
        session.expunge_all()
        if len(entries) < VERIFY_BATCH:
            break
    if (seq, prev) != (chain.seq, chain.hash):
        return ChainBreak(org, seq + 1, f"chain ends at {seq} but its head is at {chain.seq}")
    return None


def _problem(entry: AuditLog, seq: int, prev: str) -> str | None:
    if entry.seq != seq:
        return f"entry {seq} is missing (next found: {entry.seq})"
    if entry.prev_hash != prev:
        return "prev_hash is not the previous entry's hash"
    fields = {name: getattr(entry, name) for name in rules.HASHED_FIELDS}
    if rules.chain_hash(prev, fields) != entry.hash:
        return "content does not match its hash (the entry was altered)"
    return None


# --- retention -------------------------------------------------------------------------------


async def purge_expired(session: AsyncSession, *, platform_days: int) -> dict[uuid.UUID, int]:
    """Delete every chain's entries past its retention; the entries deleted per chain.
    The caller must have entered the platform scope (organizations are read across tenants)."""
    deleted: dict[uuid.UUID, int] = {}
    postgres = session.get_bind().dialect.name == "postgresql"
    for chain, plan_days, org_exists in await repository.retention_days(session):
        days = plan_days if org_exists else platform_days
        if days is None or days < 0:
            continue  # kept forever
        # PostgreSQL's purge function reads an organization's retention itself (and refuses
        # a shorter one); the platform's, a setting, is passed and checked against a floor.
        keep = None if postgres and org_exists else days
        count = await repository.purge(session, chain, keep_days=keep)
        if count:
            deleted[chain] = count
    return deleted
