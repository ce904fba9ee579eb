"""A rolled-back request sends nothing: no email, no webhook. Through the HTTP API, the real
worker, a real SMTP server and a real receiver; the same request committed sends both, so
the test can fail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.kit.deps import DbSession, Resources
from keel.kit.errors import Conflict
from keel.notifications import service as notifications_service
from keel.projects import service as projects_service
from keel.projects.dependencies import CanWriteProjects
from keel.projects.schemas import ProjectCreate
from tests.helpers.app import client_for
from tests.notifications.mailserver import HOST, Inbox, smtp_server, with_smtp
from tests.webhooks.builders import Tenant, make_endpoint, run_jobs
from tests.webhooks.receiver import Receiver, receiving

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

probe = APIRouter()


@probe.post("/orgs/{org_id}/probe/launch")
async def launch(org: CanWriteProjects, db: DbSession, fail: bool = False) -> dict[str, str]:
    """Creates a project (project.created) and mails its creator, then fails when asked to,
    after both are queued."""
    project = await projects_service.create_project(db, org, ProjectCreate(name="Launch"))
    await notifications_service.send_email(
        db, to="ops@example.com", template="system_test", context={"requested_by": "probe"}
    )
    if fail:
        raise Conflict("the launch was called off after its side effects were queued")
    return {"id": str(project.id)}


@asynccontextmanager
async def wired(
    settings: Settings, resources: Resources
) -> AsyncIterator[tuple[httpx.AsyncClient, Resources, Inbox, Receiver]]:
    with smtp_server() as inbox, receiving() as receiver:
        mailing = with_smtp(settings, url=f"smtp://{HOST}:{inbox.port}")
        configured = Resources(mailing, resources.database, resources.cache, resources.broadcast)
        try:
            async with client_for(mailing, configured, probe) as client:
                yield client, configured, inbox, receiver
        finally:
            await configured.close_outbound()


@pytest.mark.parametrize(("fail", "status", "sent"), [(True, 409, 0), (False, 200, 1)])
async def test_request__rolled_back_or_committed__sends_nothing_or_both(
    db: AsyncSession,
    hook_settings: Settings,
    hook_resources: Resources,
    tenant: Tenant,
    fail: bool,
    status: int,
    sent: int,
) -> None:
    async with wired(hook_settings, hook_resources) as (client, resources, inbox, receiver):
        # Given an endpoint for project.created and a working mail server
        await make_endpoint(db, hook_settings, tenant, url=receiver.url)
        # When a request queues an email and an event, then fails (or not)
        response = await client.post(
            f"/api/v1/orgs/{tenant.org.id}/probe/launch",
            params={"fail": fail},
            headers=tenant.admin.headers,
        )
        assert response.status_code == status, response.text
        # And the worker runs everything due
        await run_jobs(resources)
    # Then a failed request sent neither mail nor webhook; a committed one sent both
    assert len(inbox.messages) == sent
    assert len(receiver.received) == sent
