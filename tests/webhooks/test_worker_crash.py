"""A ``keel worker`` killed with SIGKILL in the middle of 1,000 webhook deliveries: after a
restart every event is delivered at least once, and a receiver deduplicating on
``webhook-id`` counts exactly 1,000, each signature valid. Real processes, a real receiver
on 127.0.0.1, a committed database."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from keel.access.schemas import Actor
from keel.config import Settings
from keel.events import service as events_service
from keel.kit import tenancy
from keel.kit.db import Database
from keel.organizations.service import access as org_access
from keel.projects.events import ProjectUpdated
from keel.webhooks import service
from keel.webhooks.models import SUCCEEDED, WebhookDelivery
from keel.webhooks.schemas import WebhookCreate
from tests.cli.support import KEEL_BIN, process_env, stop
from tests.helpers.servers import server_env
from tests.helpers.tenancy import make_org, make_user
from tests.webhooks.receiver import Receiver, receiving, verified

EVENTS = 1_000
DEADLINE_SECONDS = 180.0


async def seed(database: Database, settings: Settings, url: str) -> tuple[uuid.UUID, str]:
    """An organization with one endpoint for project.updated, then 1,000 such events, all
    committed; returns the organization and the endpoint's secret."""
    async with database.transaction() as db:
        owner = await make_user(db)
        org = await make_org(db, owner)
        access = await org_access.open_org(db, Actor(kind="user", id=str(owner.id)), org.id)
        data = WebhookCreate(url=url, event_types=["project.updated"])
        _, secret = await service.create_webhook(db, access, data, settings=settings)
    async with database.transaction() as db:
        for n in range(EVENTS):
            event = ProjectUpdated(
                organization_id=org.id, project_id=uuid.uuid4(), fields=[f"f{n}"]
            )
            await events_service.publish(db, event)
    return org.id, secret


def start_worker(env: dict[str, str | None]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(KEEL_BIN), "worker", "--concurrency", "8"],
        env=process_env(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


async def wait_until(what: str, check: Callable[[], bool], deadline: float) -> None:
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def distinct_updates(receiver: Receiver) -> set[str]:
    return {
        r.headers["webhook-id"]
        for r in list(receiver.received)
        if json.loads(r.body).get("type") == "project.updated"
    }


async def test_worker__sigkilled_mid_delivery__every_event_delivered_exactly_once_deduped(
    committed_database: Database, settings: Settings, tmp_path: Path, run_tag: str
) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    env = server_env(settings, tmp_path, f"keel:test:{run_tag}:crash:") | {
        "KEEL_WEBHOOKS__ALLOW_LOOPBACK": "true",
        "KEEL_JOBS__LEASE_SECONDS": "3",
        "KEEL_JOBS__POLL_INTERVAL": "0.05",
        "KEEL_LOG__LEVEL": "ERROR",
    }
    with receiving() as receiver:
        # Given 1,000 committed events for an endpoint pointing at the receiver
        hooks = settings.model_copy(
            update={"webhooks": settings.webhooks.model_copy(update={"allow_loopback": True})}
        )
        org_id, secret = await seed(committed_database, hooks, receiver.url)
        # When a worker has delivered part of them and is killed with SIGKILL
        first = start_worker(env)
        try:
            await wait_until(
                "some deliveries", lambda: len(distinct_updates(receiver)) >= 150, deadline
            )
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        killed_at = len(distinct_updates(receiver))
        # And another worker is started
        second = start_worker(env)
        try:
            await wait_until(
                "all deliveries", lambda: len(distinct_updates(receiver)) >= EVENTS, deadline
            )
            await asyncio.sleep(1.0)  # anything sent twice arrives now, to be counted below
        finally:
            code, stderr = stop(second)
    # Then the kill happened mid-way, and the receiver, deduping on webhook-id, saw 1,000
    assert killed_at < EVENTS
    assert len(distinct_updates(receiver)) == EVENTS
    # And every request it got carries a valid signature
    for request in receiver.received:
        verified(secret, request)
    # And the log says every delivery succeeded
    async with committed_database.transaction() as db:
        await tenancy.enter_tenant(db, org_id)
        stmt = select(func.count()).where(
            WebhookDelivery.organization_id == org_id, WebhookDelivery.status == SUCCEEDED
        )
        assert await db.scalar(stmt) == EVENTS
    assert code == 0, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-4000:]
