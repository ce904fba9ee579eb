"""Two real ``keel serve`` processes against one Redis share an organization's rate limit
exactly: whichever process a request reaches, the organization's budget is one."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from keel.access.schemas import Actor
from keel.config import Settings
from keel.kit.db import Database
from keel.plans import service as plans_service
from keel.plans.schemas import OverrideWrite
from tests.conftest import requires_redis
from tests.helpers.servers import Server, running
from tests.helpers.tenancy import Caller, make_caller, make_org

pytestmark = requires_redis

LIMIT, WINDOW = 10, 3600


@pytest.fixture
def servers(
    settings: Settings, committed_database: Database, tmp_path: Path
) -> Iterator[tuple[Server, ...]]:
    prefix = f"{settings.redis.prefix}{uuid.uuid4().hex[:8]}:"
    with running(settings, tmp_path, prefix) as pair:
        yield pair


async def seed(database: Database, settings: Settings) -> tuple[Caller, uuid.UUID]:
    """An organization whose deal allows ``LIMIT`` API requests an hour, and its admin."""
    async with database.transaction() as session:
        admin = await make_caller(session, settings)
        org = await make_org(session, admin.user)
        deal = OverrideWrite(rate_limits={"api": {"limit": LIMIT, "window_seconds": WINDOW}})
        await plans_service.set_override(session, Actor.system(), org.id, org.plan, deal)
    return admin, org.id


async def test_org_rate_limit__requests_alternate_between_processes__shared_exactly(
    servers: tuple[Server, ...], committed_database: Database, settings: Settings
) -> None:
    # Given two processes and an organization with a budget of ten an hour
    a, b = servers
    admin, org_id = await seed(committed_database, settings)
    left = WINDOW - time.time() % WINDOW
    if left < 5:  # the clock-aligned window must not turn over mid-test
        await asyncio.sleep(left + 0.1)
    # When thirty requests alternate between them
    async with httpx.AsyncClient(timeout=10) as http:
        answers = [
            await http.get(f"{server.url}/api/v1/orgs/{org_id}", headers=admin.headers)
            for server in (a, b) * 15
        ]
    # Then exactly ten are served in all, each process seeing the other's spending
    codes = [answer.status_code for answer in answers]
    assert codes == [200] * LIMIT + [429] * (30 - LIMIT), codes
    remaining = [int(answer.headers["X-RateLimit-Remaining"]) for answer in answers[:LIMIT]]
    assert remaining == list(range(LIMIT - 1, -1, -1))
    assert answers[LIMIT].json()["limit"] == LIMIT
