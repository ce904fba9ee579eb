"""Webhook delivery log retention: how fast ``webhooks.purge`` deletes a backlog, and how long
other writers wait on it meanwhile (the reason it commits per batch).

    uv run python -m bench.webhooks_purge [--deliveries 100000]
    KEEL_DATABASE__URL=postgresql+asyncpg://postgres@127.0.0.1:5432/<db> uv run python ...

Seeds N finished deliveries past the retention (one attempt and one message each) and 1,000
recent ones, then runs the purge while a writer commits a small transaction every 10 ms.
Prints rows/s, the purge's time, and the writer's p50 / p99 / max commit latency.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select, update

from bench.support import bench_settings
from keel.access.schemas import Actor
from keel.config import Settings
from keel.kit import clock
from keel.kit.deps import Resources, close_resources, open_resources
from keel.kit.ids import new_id
from keel.kit.logging import configure_logging
from keel.organizations.models import Organization
from keel.organizations.schemas import OrganizationCreate
from keel.organizations.service import orgs
from keel.users.models import User
from keel.webhooks import service
from keel.webhooks.models import (
    SUCCEEDED,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
)

CHUNK = 5000


async def endpoint_of_new_org(resources: Resources) -> tuple[uuid.UUID, uuid.UUID]:
    async with resources.database.transaction() as db:
        owner = User(email=f"bench-{uuid.uuid4().hex[:8]}@example.com", name="B", password_hash="x")
        db.add(owner)
        await db.flush()
        org = await orgs.create(
            db, Actor(kind="user", id=str(owner.id)), owner, OrganizationCreate(name="Bench")
        )
        endpoint = WebhookEndpoint(
            organization_id=org.id, url="https://example.com/h", event_types=[], secret=b"x"
        )
        db.add(endpoint)
        await db.flush()
        return org.id, endpoint.id


def rows(org_id: uuid.UUID, endpoint_id: uuid.UUID, count: int, age_days: int) -> Any:
    moment = clock.now() - timedelta(days=age_days)
    messages, deliveries, attempts = [], [], []
    for _ in range(count):
        message_id, delivery_id = new_id(), new_id()
        common = {"organization_id": org_id, "event_type": "project.updated"}
        messages.append(
            common | {"id": message_id, "body": b"{}", "occurred_at": moment, "created_at": moment}
        )
        deliveries.append(
            common
            | {
                "id": delivery_id,
                "endpoint_id": endpoint_id,
                "message_id": message_id,
                "status": SUCCEEDED,
                "attempts": 1,
                "occurred_at": moment,
                "created_at": moment,
                "last_attempt_at": moment,
            }
        )
        attempts.append(
            {
                "id": new_id(),
                "organization_id": org_id,
                "delivery_id": delivery_id,
                "number": 1,
                "started_at": moment,
                "succeeded": True,
                "response_status": 200,
                "latency_ms": 10,
            }
        )
    return messages, deliveries, attempts


async def seed(resources: Resources, count: int, *, age_days: int) -> None:
    org_id, endpoint_id = await endpoint_of_new_org(resources)
    for start in range(0, count, CHUNK):
        messages, deliveries, attempts = rows(
            org_id, endpoint_id, min(CHUNK, count - start), age_days
        )
        async with resources.database.transaction() as db:
            await db.execute(insert(WebhookMessage), messages)
            await db.execute(insert(WebhookDelivery), deliveries)
            await db.execute(insert(WebhookAttempt), attempts)


async def writer(resources: Resources, org_id: uuid.UUID, stop: asyncio.Event) -> list[float]:
    """A small write transaction every 10 ms, as requests would commit."""
    waits: list[float] = []
    while not stop.is_set():
        started = time.perf_counter()
        async with resources.database.transaction() as db:
            stmt = update(Organization).where(Organization.id == org_id)
            await db.execute(stmt.values(updated_at=clock.now()))
        waits.append(time.perf_counter() - started)
        await asyncio.sleep(0.01)
    return waits


async def run(settings: Settings, count: int) -> dict[str, Any]:
    resources = open_resources(settings)
    try:
        await seed(resources, count, age_days=40)
        await seed(resources, 1000, age_days=1)
        async with resources.database.transaction() as db:
            org_id = (await db.scalars(select(Organization.id).limit(1))).one()
        stop = asyncio.Event()
        waits = asyncio.create_task(writer(resources, org_id, stop))
        started = time.perf_counter()
        purged = await service.purge_log(resources.database, retention_days=30, budget_seconds=3600)
        elapsed = time.perf_counter() - started
        stop.set()
        async with resources.database.transaction() as db:
            left = await db.scalar(select(func.count()).select_from(WebhookDelivery))
        return {"purged": purged, "seconds": elapsed, "waits": await waits, "left": left}
    finally:
        await close_resources(resources)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deliveries", type=int, default=100_000)
    args = parser.parse_args()
    with bench_settings() as settings:
        configure_logging(settings)
        figures = asyncio.run(run(settings, args.deliveries))
    purged, seconds, waits = figures["purged"], figures["seconds"], figures["waits"]
    cuts = statistics.quantiles(waits, n=100, method="inclusive")
    print(f"backend: {settings.database_url.split(':', 1)[0]}")
    print(
        f"purged {purged.deliveries} deliveries (+ attempts) and {purged.messages} messages "
        f"in {seconds:.2f} s: {purged.deliveries / seconds:,.0f} deliveries/s; "
        f"{figures['left']} recent deliveries left"
    )
    print(
        f"concurrent writer ({len(waits)} commits): p50 {cuts[49] * 1000:.1f} ms, "
        f"p99 {cuts[98] * 1000:.1f} ms, max {max(waits) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
