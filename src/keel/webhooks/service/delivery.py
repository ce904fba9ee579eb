"""Delivering: the ``webhooks.deliver`` job drains one endpoint's due deliveries in batches.

Why batches and a lease, not one job per delivery: a job costs a claim and a commit of its
own, and a webhook per job capped a worker far below the throughput goal
(``bench/webhooks.py``). So the fan-out queues one *coalescing* job per endpoint (dedupe key
``webhooks.deliver:<endpoint>``, freed as the job commits: events arriving meanwhile are
folded into it), and the job:

1. claims up to ``batch_size`` due deliveries in a short transaction of its own: a lease
   (``locked_until``), no lock held while it waits on the network — on SQLite a held write
   lock would stall every request for as long as the slowest receiver;
2. sends them concurrently (``endpoint_concurrency``) through the process's shared,
   SSRF-guarded keep-alive client;
3. records every attempt in the job's own transaction, fenced on the attempt count it claimed
   (a job that lost its lease records nothing), schedules the next attempt of each failure
   (Standard Webhooks' schedule, a longer ``Retry-After`` honoured), updates the endpoint
   (410 disables; failing for ``disable_after_days`` disables and emails the admins) and
   queues the next run for whatever is left (under a key of its own, so it is never folded
   into itself). A delivery whose fan-out committed in the instant between that check and
   the job's commit waits for the ``webhooks.sweep`` safety net (every minute).

Delivery is at least once: a worker killed between sending and committing sends those again,
with the same ``webhook-id``, which is what receivers deduplicate on.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit import service as audit_service
from keel.audit.schemas import Target as AuditTarget
from keel.events import service as events_service
from keel.kit import clock, jobs, tenancy
from keel.kit.deps import Resources
from keel.kit.ids import new_id
from keel.kit.security import KeyRing
from keel.notifications import service as notifications_service
from keel.organizations.service import members
from keel.webhooks import repository, rules
from keel.webhooks.events import WebhookEndpointDisabled
from keel.webhooks.models import FAILED, PENDING, SUCCEEDED, WebhookEndpoint
from keel.webhooks.service import metrics
from keel.webhooks.service.sending import Outcome, Target, attempt, target_of

DELIVER_JOB = "webhooks.deliver"
SWEEP_JOB = "webhooks.sweep"
DISABLED_TEMPLATE = "webhook_endpoint_disabled"
#: Scheduled runs (retries, leases running out) are grouped into slots this long.
SLOT_SECONDS = 1.0
_SYSTEM = Actor.system("webhooks")


# ---- queueing -----------------------------------------------------------------------------------


async def schedule_drain(
    session: AsyncSession, org_id: uuid.UUID, endpoint_id: uuid.UUID, *, at: datetime | None = None
) -> None:
    """Queue a run for the endpoint: now (coalesced with any run not yet started), or in the
    slot holding ``at`` (one run per endpoint per slot, due at the slot's end)."""
    payload = {"organization_id": str(org_id), "endpoint_id": str(endpoint_id)}
    if at is None or at <= clock.now():
        await jobs.enqueue(session, DELIVER_JOB, payload, dedupe_key=f"{DELIVER_JOB}:{endpoint_id}")
        return
    slot = math.ceil(at.timestamp() / SLOT_SECONDS)
    run_at = datetime.fromtimestamp(slot * SLOT_SECONDS, tz=at.tzinfo)
    key = f"{DELIVER_JOB}:{endpoint_id}:{slot}"
    await jobs.enqueue(session, DELIVER_JOB, payload, run_at=run_at, dedupe_key=key)


# ---- the job ------------------------------------------------------------------------------------


async def drain(
    session: AsyncSession,
    resources: Resources,
    *,
    job_id: uuid.UUID,
    org_id: uuid.UUID,
    endpoint_id: uuid.UUID,
) -> int:
    """One run of ``webhooks.deliver``; returns how many attempts it recorded."""
    settings = resources.settings.webhooks
    claimed, target = await _claim(resources, org_id, endpoint_id)
    outcomes = await _send_all(resources, target, claimed) if target is not None else []
    # Freed only now, as this run commits: work arriving while it ran was folded into it
    # (its fan-out's enqueue found the key taken) and is picked up by _schedule_rest below.
    await jobs.release_dedupe_key(session, job_id)
    if target is None:
        return 0
    await tenancy.enter_tenant(session, org_id)
    recorded = await _record(session, resources, org_id, claimed, outcomes)
    endpoint = await repository.endpoint(session, org_id, endpoint_id)
    if endpoint is not None and recorded:
        await _update_endpoint(session, endpoint, recorded, settings.disable_after_days)
    if endpoint is not None and endpoint.enabled:
        await _schedule_rest(session, org_id, endpoint_id, job_id=job_id)
    return len(recorded)


async def _claim(
    resources: Resources, org_id: uuid.UUID, endpoint_id: uuid.UUID
) -> tuple[list[repository.Claimed], Target | None]:
    """A short transaction of its own, committed before any request goes out."""
    now = clock.now()
    lease = timedelta(seconds=resources.settings.jobs.lease_seconds)
    async with resources.database.transaction() as claim:
        await tenancy.enter_tenant(claim, org_id)
        endpoint = await repository.endpoint(claim, org_id, endpoint_id)
        if endpoint is None or not endpoint.enabled:
            return [], None
        claimed = await repository.claim_due(
            claim,
            org_id,
            endpoint_id,
            now=now,
            until=now + lease,
            limit=resources.settings.webhooks.batch_size,
        )
        keyring = KeyRing.from_settings(resources.settings)
        return claimed, target_of(endpoint, keyring, now=now) if claimed else None


async def _send_all(
    resources: Resources, target: Target, claimed: Sequence[repository.Claimed]
) -> list[Outcome]:
    settings = resources.settings.webhooks
    gate = asyncio.Semaphore(settings.endpoint_concurrency)
    client = resources.outbound

    async def one(item: repository.Claimed) -> Outcome:
        async with gate:
            return await attempt(
                client,
                target,
                delivery_id=item.delivery_id,
                number=item.attempts + 1,
                message_id=item.message_id,
                body=item.body,
                settings=settings,
                started_at=clock.now(),
            )

    return list(await asyncio.gather(*(one(item) for item in claimed)))


async def _record(
    session: AsyncSession,
    resources: Resources,
    org_id: uuid.UUID,
    claimed: Sequence[repository.Claimed],
    outcomes: Sequence[Outcome],
) -> list[Outcome]:
    """Only the outcomes this job still owns; returns them."""
    if not outcomes:
        return []
    owned = await repository.still_claimed(session, org_id, claimed)
    occurred = {c.delivery_id: c.occurred_at for c in claimed}
    kept = [o for o in outcomes if o.delivery_id in owned]
    settings = resources.settings.webhooks
    now = clock.now()
    attempts = [attempt_row(org_id, o) for o in kept]
    deliveries = [
        delivery_change(o, now=now, max_retry_after=settings.max_retry_after_seconds) for o in kept
    ]
    await repository.record(session, attempts, deliveries)
    for o in kept:
        if o.succeeded:
            metrics.LAG_SECONDS.observe(max(0.0, (now - occurred[o.delivery_id]).total_seconds()))
    return kept


def attempt_row(org_id: uuid.UUID, outcome: Outcome) -> dict[str, Any]:
    return {
        "id": new_id(),
        "organization_id": org_id,
        "delivery_id": outcome.delivery_id,
        "number": outcome.number,
        "started_at": outcome.started_at,
        "succeeded": outcome.succeeded,
        "response_status": outcome.status,
        "latency_ms": outcome.latency_ms,
        "response_excerpt": outcome.excerpt,
        "error": outcome.error,
    }


def delivery_change(
    outcome: Outcome, *, now: datetime, max_retry_after: float, retry: bool = True
) -> dict[str, Any]:
    """The delivery after ``outcome``: done, failed for good, or due again later."""
    change: dict[str, Any] = {
        "id": outcome.delivery_id,
        "attempts": outcome.number,
        "last_attempt_at": outcome.started_at,
        "last_response_status": outcome.status,
        "locked_until": None,
    }
    if outcome.succeeded:
        return change | {"status": SUCCEEDED, "next_attempt_at": None, "delivered_at": now}
    following = None
    if retry and not rules.is_gone(outcome.status):
        following = rules.next_attempt_at(
            outcome.number,
            now=now,
            retry_after=outcome.retry_after,
            max_retry_after=max_retry_after,
        )
    if following is None:
        return change | {"status": FAILED, "next_attempt_at": None}
    return change | {"status": PENDING, "next_attempt_at": following}


async def _schedule_rest(
    session: AsyncSession, org_id: uuid.UUID, endpoint_id: uuid.UUID, *, job_id: uuid.UUID
) -> None:
    """The next run, for deliveries still pending: now if some are due (under a key of this
    job's own, as the coalescing key may be held by a run that already claimed), else when
    the earliest becomes due or its lease runs out."""
    ready = await repository.next_ready_at(session, org_id, endpoint_id)
    if ready is None:
        return
    if ready <= clock.now():
        payload = {"organization_id": str(org_id), "endpoint_id": str(endpoint_id)}
        key = f"{DELIVER_JOB}:{endpoint_id}:after:{job_id}"
        await jobs.enqueue(session, DELIVER_JOB, payload, dedupe_key=key)
        return
    await schedule_drain(session, org_id, endpoint_id, at=ready)


# ---- the endpoint's health ----------------------------------------------------------------------


async def _update_endpoint(
    session: AsyncSession, endpoint: WebhookEndpoint, outcomes: Sequence[Outcome], after_days: int
) -> None:
    """410 disables at once; any success ends a failing run; a run of failures that has
    lasted ``after_days`` disables."""
    if any(rules.is_gone(o.status) for o in outcomes):
        await disable(session, endpoint, reason="gone")
        return
    if any(o.succeeded for o in outcomes):
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
            await session.flush()
        return
    if endpoint.failing_since is None:
        endpoint.failing_since = min(o.started_at for o in outcomes)
        await session.flush()
    if rules.should_disable_for_failing(
        endpoint.failing_since, now=clock.now(), after_days=after_days
    ):
        await disable(session, endpoint, reason="failing")


async def disable(session: AsyncSession, endpoint: WebhookEndpoint, *, reason: str) -> None:
    """Keel turns the endpoint off: audited, published, and the admins are emailed once
    (an endpoint already off is never disabled again)."""
    if not endpoint.enabled:
        return
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    endpoint.disabled_at = clock.now()
    await session.flush()
    target = AuditTarget("webhook_endpoint", str(endpoint.id), endpoint.organization_id)
    await audit_service.record(
        session, _SYSTEM, "webhook_endpoint.disabled", target=target, changes={"reason": reason}
    )
    await events_service.publish(
        session,
        WebhookEndpointDisabled(
            organization_id=endpoint.organization_id,
            endpoint_id=endpoint.id,
            kind=endpoint.kind,
            reason=reason,
        ),
    )
    await _email_admins(session, endpoint, reason)


async def _email_admins(session: AsyncSession, endpoint: WebhookEndpoint, reason: str) -> None:
    host = endpoint.url.split("/")[2] if "://" in endpoint.url else endpoint.url
    for admin in await members.admin_contacts(session, endpoint.organization_id):
        await notifications_service.send_email(
            session,
            to=admin.email,
            template=DISABLED_TEMPLATE,
            context={
                "name": admin.name,
                "kind": endpoint.kind,
                "host": host,
                "endpoint_id": str(endpoint.id),
                "reason": reason,
                "since": (endpoint.failing_since or clock.now()).isoformat(timespec="minutes"),
            },
            user_id=admin.user_id,
        )


# ---- the safety net -----------------------------------------------------------------------------


async def sweep(session: AsyncSession, *, older_than: timedelta = timedelta(minutes=1)) -> int:
    """Periodic ``webhooks.sweep``: queue a run for every endpoint holding deliveries that
    have been due for a while with no run to take them (a wake-up lost to a race)."""
    await tenancy.enter_platform(session, reason="webhooks.sweep finds every tenant's overdue work")
    found = await repository.overdue_endpoints(session, before=clock.now() - older_than)
    await tenancy.leave_platform(session)
    for org_id, endpoint_id in found:
        await tenancy.enter_tenant(session, org_id)
        await schedule_drain(session, org_id, endpoint_id)
    return len(found)
