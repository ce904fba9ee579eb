"""Retention of the delivery log: the ``webhooks.purge`` job deletes finished deliveries past
``log_retention_days`` with their attempts and the messages left unreferenced, across every
tenant, in batches; it never touches a delivery an enabled endpoint may still retry."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Select, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.kit import clock, jobs, tenancy
from keel.kit.deps import Resources
from keel.kit.ids import new_id
from keel.kit.jobs import JobContext
from keel.webhooks import service, tasks
from keel.webhooks.models import (
    FAILED,
    PENDING,
    SUCCEEDED,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
)
from keel.webhooks.service.retention import BATCH_SIZE
from keel.worker import PERIODIC
from tests.helpers.jobs import all_jobs, with_database
from tests.webhooks.builders import (
    Tenant,
    make_tenant,
    run_jobs,
    seed_endpoint,
    seed_log_delivery,
    seed_message,
)

RETENTION_DAYS = 30


def days_ago(days: float) -> datetime:
    return clock.now() - timedelta(days=days)


async def purge(resources: Resources, **overrides: Any) -> service.Purged:
    options: dict[str, Any] = {"retention_days": RETENTION_DAYS, "budget_seconds": 60.0}
    return await service.purge_log(resources.database, **(options | overrides))


async def logged(
    db: AsyncSession, endpoint: WebhookEndpoint, *, age_days: float, **fields: Any
) -> WebhookDelivery:
    """A delivery of a message of its own, created ``age_days`` ago."""
    await tenancy.enter_tenant(db, endpoint.organization_id)
    message = await seed_message(db, endpoint.organization_id, created_at=days_ago(age_days))
    return await seed_log_delivery(db, endpoint, message, created_at=message.created_at, **fields)


async def across_tenants(db: AsyncSession, stmt: Select[Any]) -> set[uuid.UUID]:
    """The ids ``stmt`` finds in every tenant. The platform scope is left at once: the test's
    sessions share one connection, and the purge must not inherit it."""
    await tenancy.enter_platform(db, reason="tests count rows of several tenants")
    found = set((await db.scalars(stmt)).all())
    await tenancy.leave_platform(db)
    return found


async def remaining(db: AsyncSession, model: Any, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``ids`` still exist."""
    return await across_tenants(db, select(model.id).where(model.id.in_(ids)))


async def attempt_ids(db: AsyncSession, deliveries: list[WebhookDelivery]) -> set[uuid.UUID]:
    ids = [d.id for d in deliveries]
    return await across_tenants(
        db, select(WebhookAttempt.id).where(WebhookAttempt.delivery_id.in_(ids))
    )


async def test_purge__finished_past_retention_in_two_tenants__deliveries_attempts_messages_gone(
    db: AsyncSession, settings: Settings, hook_resources: Resources, tenant: Tenant
) -> None:
    # Given a delivery that succeeded and one that failed for good, both past the retention,
    # in two organizations
    other = await make_tenant(db, settings)
    old = []
    for org_id in (tenant.org.id, other.org.id):
        await tenancy.enter_tenant(db, org_id)
        endpoint = await seed_endpoint(db, org_id)
        old.append(await logged(db, endpoint, age_days=40, status=SUCCEEDED, tries=1))
        old.append(await logged(db, endpoint, age_days=31, status=FAILED, tries=3))
    attempts = await attempt_ids(db, old)
    assert len(attempts) == 8
    # When the purge runs
    purged = await purge(hook_resources)
    # Then they are gone with their attempts and messages, in both organizations
    assert purged == service.Purged(deliveries=4, messages=4, finished=True)
    assert await remaining(db, WebhookDelivery, [d.id for d in old]) == set()
    assert await remaining(db, WebhookAttempt, list(attempts)) == set()
    assert await remaining(db, WebhookMessage, [d.message_id for d in old]) == set()


async def test_purge__recent_or_still_due_for_retry__kept(
    db: AsyncSession, hook_resources: Resources, tenant: Tenant
) -> None:
    # Given, on an enabled endpoint: a success within the retention, an old delivery still
    # pending (its endpoint will retry it), and an old one redelivered yesterday
    endpoint = await seed_endpoint(db, tenant.org.id)
    kept = [
        await logged(db, endpoint, age_days=29, status=SUCCEEDED, tries=1),
        await logged(db, endpoint, age_days=40, status=PENDING, tries=2),
        await logged(
            db, endpoint, age_days=40, status=FAILED, tries=1, last_attempt_at=days_ago(1)
        ),
    ]
    attempts = await attempt_ids(db, kept)
    # When the purge runs
    purged = await purge(hook_resources)
    # Then every row stays
    assert purged == service.Purged(deliveries=0, messages=0, finished=True)
    assert await remaining(db, WebhookDelivery, [d.id for d in kept]) == {d.id for d in kept}
    assert await remaining(db, WebhookAttempt, list(attempts)) == attempts
    messages = [d.message_id for d in kept]
    assert await remaining(db, WebhookMessage, messages) == set(messages)


async def test_purge__pending_on_disabled_endpoint__deleted_once_past_retention(
    db: AsyncSession, hook_resources: Resources, tenant: Tenant
) -> None:
    # Given a disabled endpoint with an old and a recent pending delivery
    endpoint = await seed_endpoint(db, tenant.org.id, enabled=False)
    old = await logged(db, endpoint, age_days=40, status=PENDING, tries=1)
    recent = await logged(db, endpoint, age_days=2, status=PENDING, tries=1)
    # When the purge runs
    await purge(hook_resources)
    # Then only the old one is gone
    assert await remaining(db, WebhookDelivery, [old.id, recent.id]) == {recent.id}


async def test_purge__message_still_referenced__kept_while_its_old_delivery_goes(
    db: AsyncSession, hook_resources: Resources, tenant: Tenant
) -> None:
    # Given an old message sent to two endpoints: one delivery finished long ago, the other
    # redelivered yesterday
    first, second = [await seed_endpoint(db, tenant.org.id) for _ in range(2)]
    message = await seed_message(db, tenant.org.id, created_at=days_ago(40))
    gone = await seed_log_delivery(db, first, message, created_at=days_ago(40), tries=1)
    kept = await seed_log_delivery(
        db, second, message, created_at=days_ago(40), last_attempt_at=days_ago(1), tries=1
    )
    # When the purge runs
    purged = await purge(hook_resources)
    # Then the old delivery is gone, the message stays for the other
    assert purged == service.Purged(deliveries=1, messages=0, finished=True)
    assert await remaining(db, WebhookDelivery, [gone.id, kept.id]) == {kept.id}
    assert await remaining(db, WebhookMessage, [message.id]) == {message.id}


async def test_purge__unreferenced_message__deleted_once_past_retention(
    db: AsyncSession, hook_resources: Resources, tenant: Tenant
) -> None:
    # Given messages whose deliveries went with their endpoint: an old one and a recent one
    old = await seed_message(db, tenant.org.id, created_at=days_ago(40))
    recent = await seed_message(db, tenant.org.id, created_at=days_ago(1))
    # When the purge runs
    await purge(hook_resources)
    # Then only the old one is gone
    assert await remaining(db, WebhookMessage, [old.id, recent.id]) == {recent.id}


async def test_purge__backlog_larger_than_a_batch__deleted_in_several_batches(
    db: AsyncSession, hook_resources: Resources, tenant: Tenant
) -> None:
    # Given five old deliveries and batches of two
    endpoint = await seed_endpoint(db, tenant.org.id)
    old = [await logged(db, endpoint, age_days=40, tries=1) for _ in range(5)]
    # When the purge runs
    purged = await purge(hook_resources, batch_size=2)
    # Then all of them are gone, with their messages
    assert purged == service.Purged(deliveries=5, messages=5, finished=True)
    assert await remaining(db, WebhookDelivery, [d.id for d in old]) == set()


async def test_purge__time_budget_spent__stops_after_one_batch_unfinished(
    db: AsyncSession, hook_resources: Resources, tenant: Tenant
) -> None:
    # Given five old deliveries
    endpoint = await seed_endpoint(db, tenant.org.id)
    old = [await logged(db, endpoint, age_days=40, tries=1) for _ in range(5)]
    # When the purge runs with batches of two and no time to spare
    purged = await purge(hook_resources, batch_size=2, budget_seconds=0)
    # Then one batch went, and it says there is more
    assert purged == service.Purged(deliveries=2, messages=0, finished=False)
    assert len(await remaining(db, WebhookDelivery, [d.id for d in old])) == 3


async def seed_backlog(db: AsyncSession, endpoint: WebhookEndpoint, count: int) -> None:
    """``count`` old succeeded deliveries, one message each, in two bulk inserts."""
    moment = days_ago(40)
    org_id = endpoint.organization_id
    messages = [
        {
            "id": new_id(),
            "organization_id": org_id,
            "event_type": "webhook.test",
            "body": b"{}",
            "occurred_at": moment,
            "created_at": moment,
        }
        for _ in range(count)
    ]
    await db.execute(insert(WebhookMessage), messages)
    await db.execute(
        insert(WebhookDelivery),
        [
            {
                "id": new_id(),
                "organization_id": org_id,
                "endpoint_id": endpoint.id,
                "message_id": m["id"],
                "event_type": "webhook.test",
                "status": SUCCEEDED,
                "attempts": 1,
                "occurred_at": moment,
                "created_at": moment,
                "last_attempt_at": moment,
            }
            for m in messages
        ],
    )


async def test_purge_job__budget_spent__queues_a_follow_up_run_that_finishes(
    db: AsyncSession, hook_resources: Resources, tenant: Tenant
) -> None:
    # Given more old deliveries than one batch, and a lease so short the budget is spent
    # after the first batch
    endpoint = await seed_endpoint(db, tenant.org.id)
    await seed_backlog(db, endpoint, BATCH_SIZE + 1)
    settings = hook_resources.settings
    hurried = settings.model_copy(
        update={"jobs": settings.jobs.model_copy(update={"lease_seconds": 0.001})}
    )
    ctx = JobContext(
        new_id(),
        service.PURGE_JOB,
        1,
        with_database(hook_resources, hook_resources.database, hurried),
    )
    # When the job's handler runs
    await tasks.purge(db, {}, ctx)
    await db.flush()
    # Then one batch went and a follow-up run is queued
    left = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id)
    assert len((await db.scalars(left)).all()) == 1
    [follow_up] = await all_jobs(hook_resources.database, name=service.PURGE_JOB)
    assert follow_up.dedupe_key == f"{service.PURGE_JOB}:after:{ctx.job_id}"
    # And when the worker runs it, the rest goes
    await run_jobs(hook_resources)
    assert (await db.scalars(left)).all() == []


async def test_purge_job__worker_runs_it__delivery_log_lists_only_kept(
    db: AsyncSession, hook_client: httpx.AsyncClient, hook_resources: Resources, tenant: Tenant
) -> None:
    # Given an endpoint whose log holds an old finished delivery and a recent one
    endpoint = await seed_endpoint(db, tenant.org.id)
    old = await logged(db, endpoint, age_days=RETENTION_DAYS + 1, tries=1)
    recent = await logged(db, endpoint, age_days=1, tries=1)
    # When the daily webhooks.purge job runs in the worker
    assert service.PURGE_JOB in {p.name for p in PERIODIC}
    await jobs.enqueue(db, service.PURGE_JOB, {})
    await db.flush()
    await run_jobs(hook_resources)
    # Then the delivery log lists only the recent one, and the old one's attempts are 404
    base = tenant.url(f"/{endpoint.id}/deliveries")
    listed = await hook_client.get(base, headers=tenant.admin.headers)
    assert listed.status_code == 200, listed.text
    assert [d["id"] for d in listed.json()["items"]] == [str(recent.id)]
    gone = await hook_client.get(f"{base}/{old.id}/attempts", headers=tenant.admin.headers)
    assert gone.status_code == 404
