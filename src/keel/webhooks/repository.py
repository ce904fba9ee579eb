"""Every query on the webhooks tables.

Requests go through the tenant repositories (the typed proof narrows every statement). Jobs
have no request behind them: they enter the organization's tenant scope themselves
(``tenancy.enter_tenant``, so row-level security still applies) and call the module-level
functions below, each of which also filters on ``organization_id``.

The delivery job's claim is a lease on the rows (``locked_until``), taken with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two jobs for one endpoint send disjoint sets.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Result, and_, case, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from keel.kit.repository import TenantRepository, Window
from keel.kit.schemas import PageParams
from keel.webhooks.models import (
    FAILED,
    PENDING,
    SLACK,
    SUCCEEDED,
    WEBHOOK,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
)
from keel.webhooks.schemas import DeliveryFilters


class EndpointRepository(TenantRepository[WebhookEndpoint]):
    model = WebhookEndpoint

    async def page(self, page: PageParams) -> Window[WebhookEndpoint]:
        stmt = self.base_statement().where(WebhookEndpoint.kind == WEBHOOK)
        return await self.paginate(stmt, page)

    async def webhook(self, endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
        stmt = self.base_statement().where(
            WebhookEndpoint.id == endpoint_id, WebhookEndpoint.kind == WEBHOOK
        )
        found: WebhookEndpoint | None = await self.session.scalar(stmt)
        return found

    async def slack(self) -> WebhookEndpoint | None:
        stmt = self.base_statement().where(WebhookEndpoint.kind == SLACK)
        found: WebhookEndpoint | None = await self.session.scalar(stmt)
        return found

    async def delete(self, endpoint: WebhookEndpoint) -> None:
        """Its deliveries and attempts go with it (``ON DELETE CASCADE``)."""
        await self.session.delete(endpoint)
        await self.session.flush()


class DeliveryRepository(TenantRepository[WebhookDelivery]):
    model = WebhookDelivery

    async def page(
        self, endpoint_id: uuid.UUID, filters: DeliveryFilters, page: PageParams
    ) -> Window[WebhookDelivery]:
        """Newest first, on the (organization, endpoint[, status | event type], id) indexes."""
        stmt = self.base_statement().where(WebhookDelivery.endpoint_id == endpoint_id)
        if filters.status is not None:
            stmt = stmt.where(WebhookDelivery.status == filters.status)
        if filters.event_type is not None:
            stmt = stmt.where(WebhookDelivery.event_type == filters.event_type)
        return await self.paginate(stmt, page)

    async def in_endpoint(
        self, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> WebhookDelivery | None:
        stmt = self.base_statement().where(
            WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.id == delivery_id
        )
        found: WebhookDelivery | None = await self.session.scalar(stmt)
        return found

    async def attempts(self, delivery_id: uuid.UUID) -> list[WebhookAttempt]:
        stmt = (
            select(WebhookAttempt)
            .where(
                WebhookAttempt.organization_id == self.org_id,
                WebhookAttempt.delivery_id == delivery_id,
            )
            .order_by(WebhookAttempt.id)
        )
        return list((await self.session.scalars(stmt)).all())

    async def newest_per_endpoint(self, endpoint_ids: Sequence[uuid.UUID]) -> list[WebhookDelivery]:
        """The newest delivery of each endpoint: one index probe per endpoint on the
        (organization, endpoint, id) index, however long its log."""
        if not endpoint_ids:
            return []
        newest = aliased(WebhookDelivery)
        latest = (
            select(newest.id)
            .where(newest.organization_id == self.org_id, newest.endpoint_id == WebhookEndpoint.id)
            .order_by(newest.id.desc())
            .limit(1)
            .correlate(WebhookEndpoint)
            .scalar_subquery()
        )
        ids = select(latest).where(
            WebhookEndpoint.organization_id == self.org_id,
            WebhookEndpoint.id.in_(list(endpoint_ids)),
        )
        stmt = self.base_statement().where(WebhookDelivery.id.in_(ids))
        return list((await self.session.scalars(stmt)).all())

    async def last_attempts(self, delivery_ids: Sequence[uuid.UUID]) -> list[WebhookAttempt]:
        """The latest attempt of each delivery that has one (a few attempts each, on the
        (delivery, id) index)."""
        if not delivery_ids:
            return []
        ranked = (
            select(
                WebhookAttempt.id,
                func.row_number()
                .over(partition_by=WebhookAttempt.delivery_id, order_by=WebhookAttempt.id.desc())
                .label("rank"),
            )
            .where(
                WebhookAttempt.organization_id == self.org_id,
                WebhookAttempt.delivery_id.in_(list(delivery_ids)),
            )
            .subquery()
        )
        stmt = (
            select(WebhookAttempt)
            .join(ranked, ranked.c.id == WebhookAttempt.id)
            .where(ranked.c.rank == 1, WebhookAttempt.organization_id == self.org_id)
        )
        return list((await self.session.scalars(stmt)).all())


# ---- for jobs: the caller has entered the organization's tenant scope -------------------------


async def enabled_endpoints(session: AsyncSession, org_id: uuid.UUID) -> list[WebhookEndpoint]:
    stmt = select(WebhookEndpoint).where(
        WebhookEndpoint.organization_id == org_id, WebhookEndpoint.enabled.is_(True)
    )
    return list((await session.scalars(stmt)).all())


async def endpoint(
    session: AsyncSession, org_id: uuid.UUID, endpoint_id: uuid.UUID
) -> WebhookEndpoint | None:
    stmt = select(WebhookEndpoint).where(
        WebhookEndpoint.organization_id == org_id, WebhookEndpoint.id == endpoint_id
    )
    found: WebhookEndpoint | None = await session.scalar(stmt)
    return found


async def message_for_event(
    session: AsyncSession, org_id: uuid.UUID, event_id: uuid.UUID
) -> uuid.UUID | None:
    stmt = select(WebhookMessage.id).where(
        WebhookMessage.organization_id == org_id, WebhookMessage.event_id == event_id
    )
    found: uuid.UUID | None = await session.scalar(stmt)
    return found


@dataclass(frozen=True)
class Claimed:
    """One delivery a job took, with what it needs to send it."""

    delivery_id: uuid.UUID
    attempts: int
    message_id: uuid.UUID
    event_type: str
    body: bytes
    occurred_at: datetime


async def claim_due(
    session: AsyncSession,
    org_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    *,
    now: datetime,
    until: datetime,
    limit: int,
) -> list[Claimed]:
    """Lease up to ``limit`` due, unclaimed deliveries of the endpoint until ``until``."""
    due = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.organization_id == org_id,
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < now),
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(due.scalar_subquery()))
        .values(locked_until=until)
        .returning(WebhookDelivery.id, WebhookDelivery.attempts, WebhookDelivery.message_id)
        .execution_options(synchronize_session=False)
    )
    leased = (await session.execute(stmt)).all()
    if not leased:
        return []
    messages = await _messages(session, org_id, [row.message_id for row in leased])
    return [
        Claimed(
            delivery_id=row.id,
            attempts=row.attempts,
            message_id=row.message_id,
            event_type=messages[row.message_id].event_type,
            body=messages[row.message_id].body,
            occurred_at=messages[row.message_id].occurred_at,
        )
        for row in leased
    ]


async def _messages(
    session: AsyncSession, org_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, WebhookMessage]:
    stmt = select(WebhookMessage).where(
        WebhookMessage.organization_id == org_id, WebhookMessage.id.in_(set(ids))
    )
    return {m.id: m for m in (await session.scalars(stmt)).all()}


async def still_claimed(
    session: AsyncSession, org_id: uuid.UUID, claimed: Sequence[Claimed]
) -> set[uuid.UUID]:
    """Which claimed deliveries are still pending at the attempt count they were claimed with,
    locked for this transaction: only their outcomes are recorded (fencing)."""
    expected = {c.delivery_id: c.attempts for c in claimed}
    stmt = (
        select(WebhookDelivery.id, WebhookDelivery.attempts)
        .where(
            WebhookDelivery.organization_id == org_id,
            WebhookDelivery.id.in_(list(expected)),
            WebhookDelivery.status == PENDING,
        )
        .with_for_update()
    )
    rows = (await session.execute(stmt)).all()
    return {row.id for row in rows if expected[row.id] == row.attempts}


async def record(
    session: AsyncSession,
    attempts: Sequence[dict[str, Any]],
    deliveries: Sequence[dict[str, Any]],
) -> None:
    """Bulk: one INSERT for the attempts, one UPDATE by primary key for the deliveries."""
    if attempts:
        await session.execute(insert(WebhookAttempt), list(attempts))
    if deliveries:
        await session.execute(update(WebhookDelivery), list(deliveries))


async def next_ready_at(
    session: AsyncSession, org_id: uuid.UUID, endpoint_id: uuid.UUID
) -> datetime | None:
    """The earliest moment a pending delivery of the endpoint may be claimed."""
    ready = case(
        (
            and_(
                WebhookDelivery.locked_until.is_not(None),
                WebhookDelivery.locked_until > WebhookDelivery.next_attempt_at,
            ),
            WebhookDelivery.locked_until,
        ),
        else_=WebhookDelivery.next_attempt_at,
    )
    stmt = select(func.min(ready)).where(
        WebhookDelivery.organization_id == org_id,
        WebhookDelivery.endpoint_id == endpoint_id,
        WebhookDelivery.status == PENDING,
    )
    value = await session.scalar(stmt)
    return _aware(value)


def _aware(value: Any) -> datetime | None:
    """``min()`` over a CASE loses the column type on SQLite (text comes back)."""
    if value is None or isinstance(value, datetime):
        return _utc(value)
    return _utc(datetime.fromisoformat(str(value)))


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


async def overdue_endpoints(
    session: AsyncSession, *, before: datetime, limit: int = 1000
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(organization, endpoint) pairs of enabled endpoints holding a pending delivery due
    before ``before`` and not leased: work a lost wake-up left behind. Cross-tenant: the
    caller has entered the platform scope."""
    stmt = (
        select(WebhookDelivery.organization_id, WebhookDelivery.endpoint_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at < before,
            or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < before),
            WebhookEndpoint.enabled.is_(True),
        )
        .distinct()
        .limit(limit)
    )
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


# ---- for the retention purge: cross-tenant, the caller has entered the platform scope ---------


def _finished_before(cutoff: datetime) -> ColumnElement[bool]:
    """Deliveries done with before ``cutoff``: succeeded, failed for good, or left pending on
    a disabled endpoint; never one an enabled endpoint may still retry. ``created_at``
    (indexed) bounds the scan; the last attempt counts too, as a redelivery restarts the
    clock."""
    parked = and_(
        WebhookDelivery.status == PENDING,
        select(WebhookEndpoint.id)
        .where(
            WebhookEndpoint.id == WebhookDelivery.endpoint_id, WebhookEndpoint.enabled.is_(False)
        )
        .exists(),
    )
    return and_(
        WebhookDelivery.created_at < cutoff,
        or_(WebhookDelivery.last_attempt_at.is_(None), WebhookDelivery.last_attempt_at < cutoff),
        or_(WebhookDelivery.status.in_((SUCCEEDED, FAILED)), parked),
    )


async def purge_deliveries(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` deliveries finished before ``before``; their attempts go with
    them (``ON DELETE CASCADE``, on the delivery id index). The condition is repeated on the
    rows deleted: PostgreSQL re-checks it on a row updated meanwhile, so a delivery
    redelivered while the batch ran is kept."""
    batch = select(WebhookDelivery.id).where(_finished_before(before)).limit(limit)
    stmt = delete(WebhookDelivery).where(
        WebhookDelivery.id.in_(batch.scalar_subquery()), _finished_before(before)
    )
    return _rowcount(await session.execute(stmt))


async def purge_messages(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` messages created before ``before`` that no delivery refers to:
    theirs were purged or went with their endpoint. (Nothing adds a delivery to an existing
    message, so one unreferenced stays so.)"""
    referenced = select(WebhookDelivery.id).where(WebhookDelivery.message_id == WebhookMessage.id)
    batch = (
        select(WebhookMessage.id)
        .where(WebhookMessage.created_at < before, ~referenced.exists())
        .limit(limit)
    )
    stmt = delete(WebhookMessage).where(WebhookMessage.id.in_(batch.scalar_subquery()))
    return _rowcount(await session.execute(stmt))


def _rowcount(result: Result[Any]) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
