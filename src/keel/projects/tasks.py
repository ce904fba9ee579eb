"""What the projects domain does when events arrive."""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.events.schemas import EventEnvelope
from keel.kit.jobs import JobContext
from keel.organizations.errors import OrganizationNotFound, OrganizationSuspended
from keel.organizations.events import OrganizationCreated
from keel.organizations.service import access
from keel.projects import service

log = structlog.get_logger("projects")


async def add_sample_data(session: AsyncSession, envelope: EventEnvelope, ctx: JobContext) -> None:
    """``organization.created`` -> a demo project with documents
    (``KEEL_ONBOARDING__SAMPLE_DATA``). Keel acts for the creator, so the audit log says
    ``system:onboarding`` and the creator owns the demo. Idempotent: an organization that
    already has a project gets nothing."""
    if not ctx.resources.settings.onboarding.sample_data:
        return
    event = envelope.typed()
    assert isinstance(event, OrganizationCreated)
    actor = Actor(kind="system", id="onboarding", on_behalf_of=event.created_by)
    try:
        org = await access.open_org(session, actor, event.org_id, writes=True)
    except (OrganizationNotFound, OrganizationSuspended):
        log.info("onboarding.sample_data_skipped", org_id=str(event.org_id))
        return  # deleted, suspended, or its creator left before the job ran
    project = await service.add_sample_data(session, org)
    if project is not None:
        log.info("onboarding.sample_data", org_id=str(event.org_id), project_id=str(project.id))
