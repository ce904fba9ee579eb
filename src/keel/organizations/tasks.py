"""What the organizations domain does when events arrive."""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.events.schemas import EventEnvelope
from keel.kit.jobs import JobContext
from keel.organizations import rules
from keel.organizations.schemas import OrganizationCreate
from keel.organizations.service import notices, orgs
from keel.users import service as users_service
from keel.users.events import UserCreated
from keel.users.models import ACTIVE

log = structlog.get_logger("organizations")


async def create_personal_organization(
    session: AsyncSession, envelope: EventEnvelope, ctx: JobContext
) -> None:
    """``user.created`` -> "<Name>'s organization", the new user its admin, so sign-up lands
    in a workspace (``KEEL_ONBOARDING__PERSONAL_ORGANIZATION``). Idempotent: a user who
    already belongs to an organization (a second delivery, or an invitation accepted
    first) gets none."""
    if not ctx.resources.settings.onboarding.personal_organization:
        return
    event = envelope.typed()
    assert isinstance(event, UserCreated)
    user = await users_service.get(session, event.user_id)
    if user is None or user.status != ACTIVE or await orgs.list_mine(session, user.id):
        return
    actor = Actor(kind="system", id="onboarding", on_behalf_of=user.id)
    data = OrganizationCreate(name=rules.personal_organization_name(user.name))
    org = await orgs.create(session, actor, user, data)
    log.info("onboarding.personal_organization", user_id=str(user.id), org_id=str(org.id))


async def notify_limit_crossed(
    session: AsyncSession, envelope: EventEnvelope, ctx: JobContext
) -> None:
    """``plan.limit_approached`` / ``plan.limit_reached``: email and notify the admins."""
    await notices.limit_crossed(session, envelope, settings=ctx.resources.settings)


async def notify_invitee(session: AsyncSession, envelope: EventEnvelope, ctx: JobContext) -> None:
    """``member.invited``: an in-app notice for an invitee who already has an account."""
    await notices.member_invited(session, envelope, settings=ctx.resources.settings)


async def notify_security_alert(
    session: AsyncSession, envelope: EventEnvelope, ctx: JobContext
) -> None:
    """``security.alert``: the user, and for some alerts their organizations' admins."""
    await notices.security_alert(session, envelope, settings=ctx.resources.settings)
