"""Builders for webhook tests: an organization with its admin, endpoints saved through the
service (so their secrets are sealed as in production), running the worker's jobs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import OrgAccess
from keel.config import Settings
from keel.kit import clock
from keel.kit.deps import Resources
from keel.kit.ids import new_id
from keel.kit.jobs.models import QUEUED, Job
from keel.kit.jobs.runner import Runner
from keel.organizations.models import Organization
from keel.webhooks import service
from keel.webhooks.models import (
    PENDING,
    SUCCEEDED,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
)
from keel.webhooks.schemas import WebhookCreate
from keel.worker import job_handlers
from tests.helpers.tenancy import Caller, access_for, make_caller, make_org


@dataclass(frozen=True)
class Tenant:
    org: Organization
    admin: Caller

    def url(self, path: str = "") -> str:
        return f"/api/v1/orgs/{self.org.id}/webhooks{path}"


async def make_tenant(db: AsyncSession, settings: Settings) -> Tenant:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    return Tenant(org, admin)


async def access(db: AsyncSession, tenant: Tenant) -> OrgAccess:
    return await access_for(db, tenant.admin.user, tenant.org)


async def make_endpoint(
    db: AsyncSession, settings: Settings, tenant: Tenant, *, url: str, **fields: Any
) -> tuple[WebhookEndpoint, str]:
    """A webhook endpoint and its secret; subscribed to ``project.created`` unless told
    otherwise (its own ``webhook_endpoint.created`` would arrive too)."""
    fields.setdefault("event_types", ["project.created"])
    data = WebhookCreate(url=url, **fields)
    return await service.create_webhook(db, await access(db, tenant), data, settings=settings)


async def run_jobs(resources: Resources, *, rounds: int = 50) -> int:
    """Run due jobs with the worker's own handlers until none is left; returns how many ran."""
    runner = Runner(resources, job_handlers())
    total = 0
    for _ in range(rounds):
        ran = await runner.run_once()
        total += ran
        if ran == 0:
            return total
    raise AssertionError(f"jobs still due after {rounds} rounds")


async def deliveries(db: AsyncSession, endpoint_id: uuid.UUID) -> list[WebhookDelivery]:
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    rows = list((await db.scalars(stmt.order_by(WebhookDelivery.id))).all())
    for row in rows:
        await db.refresh(row)
    return rows


async def attempts(db: AsyncSession, delivery_id: uuid.UUID) -> list[WebhookAttempt]:
    stmt = select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id)
    return list((await db.scalars(stmt.order_by(WebhookAttempt.number))).all())


async def make_due(db: AsyncSession, delivery: WebhookDelivery) -> None:
    """Time passes until the delivery's next attempt: it and its queued run are due now."""
    delivery.next_attempt_at = clock.now()
    queued = select(Job).where(Job.status == QUEUED, Job.name == service.DELIVER_JOB)
    for job in (await db.scalars(queued)).all():
        job.run_at = clock.now()
    await db.flush()


async def seed_endpoint(
    db: AsyncSession, org_id: uuid.UUID, *, enabled: bool = True
) -> WebhookEndpoint:
    """An endpoint written straight to the table (its secret is not a sealed one), in the
    session's current tenant scope."""
    endpoint = WebhookEndpoint(
        organization_id=org_id,
        kind="webhook",
        url="https://example.com/hook",
        event_types=[],
        enabled=enabled,
        disabled_reason=None if enabled else "gone",
        secret=b"sealed",
    )
    db.add(endpoint)
    await db.flush()
    return endpoint


async def seed_message(
    db: AsyncSession, org_id: uuid.UUID, *, created_at: datetime | None = None
) -> WebhookMessage:
    moment = created_at or clock.now()
    message = WebhookMessage(
        id=new_id(),
        organization_id=org_id,
        event_id=None,
        event_type="webhook.test",
        body=b"{}",
        occurred_at=moment,
        created_at=moment,
    )
    db.add(message)
    await db.flush()
    return message


async def seed_log_delivery(
    db: AsyncSession,
    endpoint: WebhookEndpoint,
    message: WebhookMessage,
    *,
    status: str = SUCCEEDED,
    created_at: datetime | None = None,
    last_attempt_at: datetime | None = None,
    tries: int = 0,
) -> WebhookDelivery:
    """A delivery of ``message`` to ``endpoint`` with ``tries`` attempts in its log, the last
    one at ``last_attempt_at`` (default: when it was created)."""
    moment = created_at or clock.now()
    delivery = WebhookDelivery(
        organization_id=endpoint.organization_id,
        endpoint_id=endpoint.id,
        message_id=message.id,
        event_type=message.event_type,
        status=status,
        attempts=max(tries, 1),
        next_attempt_at=moment if status == PENDING else None,
        last_attempt_at=last_attempt_at or (moment if tries else None),
        occurred_at=moment,
        created_at=moment,
    )
    db.add(delivery)
    await db.flush()
    db.add_all(
        WebhookAttempt(
            organization_id=endpoint.organization_id,
            delivery_id=delivery.id,
            number=number,
            started_at=last_attempt_at or moment,
            succeeded=status == SUCCEEDED and number == tries,
            response_status=200 if status == SUCCEEDED and number == tries else 500,
            latency_ms=1,
        )
        for number in range(1, tries + 1)
    )
    await db.flush()
    return delivery


async def seed_delivery(db: AsyncSession, org_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """An endpoint with one delivered message, written straight to the tables (for tests
    that need the rows, not the behaviour); returns (endpoint id, delivery id)."""
    endpoint = await seed_endpoint(db, org_id)
    delivery = await seed_log_delivery(db, endpoint, await seed_message(db, org_id))
    return endpoint.id, delivery.id
