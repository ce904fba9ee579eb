"""The delivery log's summaries for list pages: each endpoint's newest delivery and each
delivery's latest attempt, one query each, within the caller's organization only."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.kit import tenancy
from keel.webhooks import service
from keel.webhooks.models import FAILED, PENDING, SUCCEEDED, WebhookDelivery, WebhookEndpoint
from tests.webhooks.builders import (
    Tenant,
    access,
    make_tenant,
    seed_endpoint,
    seed_log_delivery,
    seed_message,
)


async def endpoint_of(db: AsyncSession, org_id: uuid.UUID) -> WebhookEndpoint:
    await tenancy.enter_tenant(db, org_id)
    return await seed_endpoint(db, org_id)


async def delivered(
    db: AsyncSession, endpoint: WebhookEndpoint, *, status: str = SUCCEEDED, tries: int = 1
) -> WebhookDelivery:
    await tenancy.enter_tenant(db, endpoint.organization_id)
    message = await seed_message(db, endpoint.organization_id)
    return await seed_log_delivery(db, endpoint, message, status=status, tries=tries)


async def test_latest_deliveries__each_endpoints_newest__none_for_a_quiet_one(
    db: AsyncSession, tenant: Tenant
) -> None:
    # Given two endpoints of the organization: one with three deliveries, one with none
    busy = await endpoint_of(db, tenant.org.id)
    quiet = await endpoint_of(db, tenant.org.id)
    made = [await delivered(db, busy, status=s) for s in (SUCCEEDED, FAILED, PENDING)]
    # When their newest deliveries are asked for
    latest = await service.latest_deliveries(db, await access(db, tenant), [busy.id, quiet.id])
    # Then the busy one's is its last delivery and the quiet one has none
    assert latest == {busy.id: made[-1]}


async def test_latest_deliveries__another_tenants_endpoint__left_out(
    db: AsyncSession, settings: Settings, tenant: Tenant
) -> None:
    other = await make_tenant(db, settings)
    theirs = await endpoint_of(db, other.org.id)
    await delivered(db, theirs)
    ours = await access(db, tenant)
    assert await service.latest_deliveries(db, ours, [theirs.id]) == {}
    assert await service.latest_deliveries(db, ours, []) == {}


async def test_last_attempts__each_deliverys_latest__none_before_the_first(
    db: AsyncSession, settings: Settings, tenant: Tenant
) -> None:
    # Given a delivery tried three times, one not tried yet, and another tenant's
    endpoint = await endpoint_of(db, tenant.org.id)
    tried = await delivered(db, endpoint, status=SUCCEEDED, tries=3)
    waiting = await delivered(db, endpoint, status=PENDING, tries=0)
    other = await make_tenant(db, settings)
    theirs = await delivered(db, await endpoint_of(db, other.org.id), tries=2)
    # When their latest attempts are asked for
    ids = [tried.id, waiting.id, theirs.id]
    last = await service.last_attempts(db, await access(db, tenant), ids)
    # Then only the organization's tried delivery has one: its third, the success
    assert list(last) == [tried.id]
    assert (last[tried.id].number, last[tried.id].succeeded) == (3, True)
