"""Delivery through the real job runner to a real receiver on 127.0.0.1: signatures,
retries on the schedule, what 2xx/3xx/410 mean, disabling after days of failure."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.events import service as events_service
from keel.kit import clock
from keel.kit.deps import Resources
from keel.kit.jobs.models import Job
from keel.notifications.service import SEND_EMAIL_JOB
from keel.projects.events import ProjectCreated
from keel.webhooks import rules, service
from keel.webhooks.models import FAILED, PENDING, SUCCEEDED, WebhookEndpoint
from tests.webhooks.builders import (
    Tenant,
    access,
    attempts,
    deliveries,
    make_due,
    make_endpoint,
    run_jobs,
)
from tests.webhooks.receiver import Received, Reply, receiving, verified


def project_created(tenant: Tenant) -> ProjectCreated:
    return ProjectCreated(
        organization_id=tenant.org.id, project_id=tenant.org.id, created_by=tenant.admin.user.id
    )


async def publish(db: AsyncSession, tenant: Tenant) -> None:
    await events_service.publish(db, project_created(tenant))
    await db.flush()


async def publish_to_endpoint(
    db: AsyncSession,
    settings: Settings,
    resources: Resources,
    tenant: Tenant,
    *,
    event_types: list[str],
) -> tuple[WebhookEndpoint, str, list[Received]]:
    """An endpoint wanting ``event_types`` on a live receiver, a project.created event
    published and the worker run: the endpoint, its secret and the webhooks received."""
    with receiving() as receiver:
        endpoint, secret = await make_endpoint(
            db, settings, tenant, url=receiver.url, event_types=event_types
        )
        await publish(db, tenant)
        await run_jobs(resources)
    return endpoint, secret, [r for r in receiver.received if r.headers.get("webhook-id")]


async def test_event__endpoint_subscribed__delivered_signed_per_standard_webhooks(
    db: AsyncSession, hook_settings: Settings, hook_resources: Resources, tenant: Tenant
) -> None:
    # Given an endpoint subscribed to project.created
    # When a project.created event of the organization is published and the worker runs
    endpoint, secret, webhooks = await publish_to_endpoint(
        db, hook_settings, hook_resources, tenant, event_types=["project.created"]
    )
    # Then the receiver got it once, and the standardwebhooks library accepts the signature
    [request] = webhooks
    payload = verified(secret, request)
    assert payload["type"] == "project.created"
    assert payload["data"]["organization_id"] == str(tenant.org.id)
    assert payload["data"]["project_id"] == str(tenant.org.id)
    assert payload["data"]["version"] == 1
    [delivery] = await deliveries(db, endpoint.id)
    assert delivery.status == SUCCEEDED
    assert request.headers["webhook-id"] == rules.message_id(delivery.message_id)


async def test_event__not_subscribed__nothing_sent(
    db: AsyncSession, hook_settings: Settings, hook_resources: Resources, tenant: Tenant
) -> None:
    # Given an endpoint that only wants member.joined
    # When a project.created event is published
    endpoint, _, webhooks = await publish_to_endpoint(
        db, hook_settings, hook_resources, tenant, event_types=["member.joined"]
    )
    # Then nothing was delivered nor recorded
    assert webhooks == []
    assert await deliveries(db, endpoint.id) == []


async def test_receiver__500_then_200__success_on_second_attempt_same_webhook_id(
    db: AsyncSession, hook_settings: Settings, hook_resources: Resources, tenant: Tenant
) -> None:
    with receiving(Reply(500, b"boom"), Reply(200)) as receiver:
        # Given an endpoint whose receiver fails once, then works
        endpoint, secret = await make_endpoint(db, hook_settings, tenant, url=receiver.url)
        await publish(db, tenant)
        await run_jobs(hook_resources)
        [delivery] = await deliveries(db, endpoint.id)
        # Then the first attempt failed and the next is scheduled 5 s later
        assert delivery.status == PENDING
        assert delivery.attempts == 1
        assert delivery.next_attempt_at is not None
        wait = delivery.next_attempt_at - (delivery.last_attempt_at or clock.now())
        assert timedelta(seconds=4) < wait < timedelta(seconds=7)
        # When the retry is due and the worker runs
        await make_due(db, delivery)
        await run_jobs(hook_resources)
    # Then it succeeded on attempt 2, with the same webhook-id, both signed validly
    [delivery] = await deliveries(db, endpoint.id)
    assert (delivery.status, delivery.attempts, delivery.last_response_status) == (
        SUCCEEDED,
        2,
        200,
    )
    log = await attempts(db, delivery.id)
    assert [(a.number, a.succeeded, a.response_status) for a in log] == [
        (1, False, 500),
        (2, True, 200),
    ]
    assert log[0].response_excerpt == "boom"
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert verified(secret, first) == verified(secret, second)


async def test_receiver__410__endpoint_disabled_and_admins_emailed(
    db: AsyncSession, hook_settings: Settings, hook_resources: Resources, tenant: Tenant
) -> None:
    with receiving(Reply(410, b"gone")) as receiver:
        # Given an endpoint whose receiver answers 410 Gone
        endpoint, _ = await make_endpoint(db, hook_settings, tenant, url=receiver.url)
        # When an event is delivered
        await publish(db, tenant)
        await run_jobs(hook_resources)
    # Then the delivery failed for good and the endpoint is disabled, reason "gone"
    [delivery] = await deliveries(db, endpoint.id)
    assert (delivery.status, delivery.next_attempt_at) == (FAILED, None)
    await db.refresh(endpoint)
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "gone")
    # And the admin was emailed
    mails = (await db.scalars(select(Job).where(Job.name == SEND_EMAIL_JOB))).all()
    assert any(
        m.payload["template"] == "webhook_endpoint_disabled"
        and m.payload["to"] == tenant.admin.user.email
        for m in mails
    )


async def test_receiver__302__failure_and_redirect_not_followed(
    db: AsyncSession, hook_settings: Settings, hook_resources: Resources, tenant: Tenant
) -> None:
    with receiving() as target, receiving(Reply(302, b"", (("location", target.url),))) as hop:
        # Given an endpoint that redirects to another server
        endpoint, _ = await make_endpoint(db, hook_settings, tenant, url=hop.url)
        # When an event is delivered
        await publish(db, tenant)
        await run_jobs(hook_resources)
    # Then the attempt failed with 302, a retry is scheduled, and the target was never called
    [delivery] = await deliveries(db, endpoint.id)
    assert (delivery.status, delivery.last_response_status) == (PENDING, 302)
    assert len(hop.received) == 1
    assert target.received == []


async def test_receiver__retry_after_longer_than_schedule__honoured(
    db: AsyncSession, hook_settings: Settings, hook_resources: Resources, tenant: Tenant
) -> None:
    with receiving(Reply(503, b"busy", (("retry-after", "120"),))) as receiver:
        # Given a receiver asking to come back in 2 minutes (the schedule says 5 s)
        endpoint, _ = await make_endpoint(db, hook_settings, tenant, url=receiver.url)
        # When the first attempt fails
        await publish(db, tenant)
        await run_jobs(hook_resources)
    # Then the next attempt is 2 minutes later
    [delivery] = await deliveries(db, endpoint.id)
    assert delivery.next_attempt_at is not None and delivery.last_attempt_at is not None
    wait = delivery.next_attempt_at - delivery.last_attempt_at
    assert timedelta(seconds=119) < wait < timedelta(seconds=125)


async def test_endpoint__failing_for_five_days__disabled_and_admins_emailed_once(
    db: AsyncSession, hook_settings: Settings, hook_resources: Resources, tenant: Tenant
) -> None:
    with receiving(Reply(500)) as receiver:
        # Given an endpoint that has been failing for 5 days
        endpoint, _ = await make_endpoint(db, hook_settings, tenant, url=receiver.url)
        endpoint.failing_since = clock.now() - timedelta(days=5, minutes=1)
        await db.flush()
        # When one more attempt fails
        await publish(db, tenant)
        await run_jobs(hook_resources)
    # Then the endpoint is disabled (reason "failing") and the admin emailed once
    await db.refresh(endpoint)
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "failing")
    mails = (await db.scalars(select(Job).where(Job.name == SEND_EMAIL_JOB))).all()
    disabled = [m for m in mails if m.payload["template"] == "webhook_endpoint_disabled"]
    assert len(disabled) == 1


async def test_endpoint__failing_for_a_day__stays_enabled_and_success_clears_it(
    db: AsyncSession, hook_settings: Settings, hook_resources: Resources, tenant: Tenant
) -> None:
    with receiving(Reply(500), Reply(200)) as receiver:
        # Given an endpoint failing since yesterday
        endpoint, _ = await make_endpoint(db, hook_settings, tenant, url=receiver.url)
        endpoint.failing_since = clock.now() - timedelta(days=1)
        await db.flush()
        # When an attempt fails, then its retry succeeds
        await publish(db, tenant)
        await run_jobs(hook_resources)
        await db.refresh(endpoint)
        assert endpoint.enabled and endpoint.failing_since is not None
        [delivery] = await deliveries(db, endpoint.id)
        await make_due(db, delivery)
        await run_jobs(hook_resources)
    # Then the failing run is over
    await db.refresh(endpoint)
    assert endpoint.enabled and endpoint.failing_since is None


async def test_rotated_secret__within_grace__both_signatures_valid(
    db: AsyncSession, hook_settings: Settings, hook_resources: Resources, tenant: Tenant
) -> None:
    with receiving() as receiver:
        # Given an endpoint whose secret was rotated
        endpoint, old = await make_endpoint(db, hook_settings, tenant, url=receiver.url)
        rotated = await service.rotate_secret(
            db, await access(db, tenant), endpoint.id, settings=hook_settings
        )
        # When an event is delivered
        await publish(db, tenant)
        await run_jobs(hook_resources)
    # Then receivers holding either secret accept it (two v1 signatures)
    request = next(r for r in receiver.received if r.headers.get("webhook-id"))
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verified(old, request) == verified(rotated.secret, request)
    assert rotated.secret != old


async def test_delivery__endpoint_disabled_meanwhile__not_sent(
    db: AsyncSession, hook_settings: Settings, hook_resources: Resources, tenant: Tenant
) -> None:
    with receiving() as receiver:
        # Given a delivery queued for an endpoint that is then disabled
        endpoint, _ = await make_endpoint(db, hook_settings, tenant, url=receiver.url)
        await publish(db, tenant)
        endpoint.enabled = False
        await db.flush()
        # When the worker runs
        await run_jobs(hook_resources)
    # Then nothing was sent
    assert receiver.received == []


async def test_send__address_refused_at_send_time__attempt_failed_nothing_sent(
    db: AsyncSession,
    hook_settings: Settings,
    hook_resources: Resources,
    settings: Settings,
    tenant: Tenant,
) -> None:
    with receiving() as receiver:
        # Given an endpoint saved while loopback was allowed (as if its DNS later changed)
        endpoint, _ = await make_endpoint(db, hook_settings, tenant, url=receiver.url)
        await publish(db, tenant)
        # When a worker that refuses loopback delivers it
        strict = Resources(
            settings, hook_resources.database, hook_resources.cache, hook_resources.broadcast
        )
        try:
            await run_jobs(strict)
        finally:
            await strict.close_outbound()
    # Then the guard refused it at send time: a failed attempt, and no request
    assert receiver.received == []
    [delivery] = await deliveries(db, endpoint.id)
    [attempt] = await attempts(db, delivery.id)
    assert attempt.response_status is None
    assert attempt.error is not None and "SSRF" in attempt.error and "loopback" in attempt.error
    assert delivery.status == PENDING


async def test_sweep__overdue_delivery_without_a_run__run_queued_and_delivered(
    db: AsyncSession, hook_settings: Settings, hook_resources: Resources, tenant: Tenant
) -> None:
    with receiving() as receiver:
        # Given a pending delivery overdue by minutes, whose queued run was lost
        endpoint, _ = await make_endpoint(db, hook_settings, tenant, url=receiver.url)
        event_id = await events_service.publish(db, project_created(tenant))
        envelope = await events_service.get_envelope(db, event_id)
        assert envelope is not None
        assert await service.fan_out(db, envelope) == 1
        runs = select(Job).where(Job.name == service.DELIVER_JOB)
        for job in (await db.scalars(runs)).all():
            await db.delete(job)
        [delivery] = await deliveries(db, endpoint.id)
        delivery.next_attempt_at = clock.now() - timedelta(minutes=5)
        await db.flush()
        await run_jobs(hook_resources)  # the event's own dispatch: the fan-out is done already
        assert receiver.received == []
        # When the periodic sweep runs, then the worker
        assert await service.sweep(db) == 1
        await db.flush()
        await run_jobs(hook_resources)
    # Then the delivery went out
    assert len(receiver.received) == 1
    [delivery] = await deliveries(db, endpoint.id)
    assert delivery.status == SUCCEEDED
