"""Fixtures for webhook tests: settings that let Keel call the receiver on 127.0.0.1
(``allow_loopback``; off in production), resources over them, an app and an organization."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.kit.broadcast import Broadcast
from keel.kit.cache import Cache
from keel.kit.db import Database
from keel.kit.deps import Resources
from tests.helpers.app import client_for
from tests.webhooks.builders import Tenant, make_tenant, run_jobs


def with_webhooks(settings: Settings, **values: object) -> Settings:
    return settings.model_copy(update={"webhooks": settings.webhooks.model_copy(update=values)})


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return with_webhooks(settings, allow_loopback=True, timeout_seconds=5.0)


@pytest.fixture
async def hook_resources(
    hook_settings: Settings, database: Database, cache: Cache, broadcast: Broadcast
) -> AsyncIterator[Resources]:
    resources = Resources(hook_settings, database, cache, broadcast)
    yield resources
    await resources.close_outbound()


@pytest.fixture
async def hook_client(
    hook_settings: Settings, hook_resources: Resources
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(hook_settings, hook_resources) as client:
        yield client


@pytest.fixture
async def tenant(db: AsyncSession, settings: Settings, hook_resources: Resources) -> Tenant:
    """An organization whose own creation's events (and their follow-ups, the sample
    project) have been handled already, so a test sees only what it publishes."""
    made = await make_tenant(db, settings)
    await run_jobs(hook_resources)
    return made
