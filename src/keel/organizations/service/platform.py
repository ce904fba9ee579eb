"""The platform owner's side of organizations (the God dashboard): find any organization,
count them, list a user's, suspend one and restore it.

Every function takes the ``staff`` actor the platform-owner guard makes (a superadmin with MFA
on; ``keel.auth.dependencies.platform_owner`` and the web's ``WebPlatformOwner``) and refuses
any other, so a future caller cannot skip the guard. The reads cross tenants: they lift
row-level security for their statements only (``enter_platform`` ... ``leave_platform``).
Suspending acts on an :class:`OrgAccess` opened by that same staff actor, so the override of
tenancy is audited (``access.superadmin_override``) along with the change.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor, OrgAccess
from keel.access.service import ensure_staff
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.events import service as events_service
from keel.kit import tenancy
from keel.kit.repository import Window
from keel.kit.schemas import PageParams
from keel.organizations.events import OrganizationUpdated
from keel.organizations.models import ACTIVE, SUSPENDED, Organization
from keel.organizations.repository.platform import OrganizationDirectory
from keel.organizations.service import orgs

#: The most a search box may hold: a name is at most 200 characters.
MAX_QUERY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Listed:
    organization: Organization
    members: int


async def search(
    session: AsyncSession, actor: Actor, *, query: str, page: PageParams
) -> Window[Listed]:
    """Organizations whose name or slug contains ``query``, newest first, with their
    member counts (one query for the page, one for the counts)."""
    ensure_staff(actor)
    directory = OrganizationDirectory(session)
    await tenancy.enter_platform(session, reason="the God dashboard searches every organization")
    try:
        window = await directory.search(query[:MAX_QUERY_LENGTH], page)
        counts = await directory.member_counts([org.id for org in window.items])
    finally:
        await tenancy.leave_platform(session)
    items = [Listed(org, counts.get(org.id, 0)) for org in window.items]
    return Window(items=items, next_cursor=window.next_cursor)


async def count(session: AsyncSession, actor: Actor) -> int:
    ensure_staff(actor)
    await tenancy.enter_platform(session, reason="the God dashboard counts every organization")
    try:
        return await OrganizationDirectory(session).count()
    finally:
        await tenancy.leave_platform(session)


async def of_user(
    session: AsyncSession, actor: Actor, user_id: uuid.UUID
) -> list[tuple[Organization, str]]:
    """Every organization ``user_id`` belongs to, with their role (a user's detail page)."""
    ensure_staff(actor)
    await tenancy.enter_platform(session, reason="the God dashboard shows a user's organizations")
    try:
        return await OrganizationDirectory(session).of_user(user_id)
    finally:
        await tenancy.leave_platform(session)


async def set_suspended(
    session: AsyncSession, org: OrgAccess, *, suspended: bool, reason: str | None = None
) -> Organization:
    """Suspend the organization (its members and API keys get ``organization_suspended``
    from their next request on) or restore it. The same state again changes nothing and
    records nothing. Audited as ``organization.suspended`` / ``organization.unsuspended``
    with the reason, published as ``organization.updated`` (``fields: ["status"]``)."""
    ensure_staff(org.actor)
    found = await orgs.get(session, org)
    status = SUSPENDED if suspended else ACTIVE
    if found.status == status:
        return found
    previous, found.status = found.status, status
    await session.flush()
    await audit_service.record(
        session,
        org.actor,
        "organization.suspended" if suspended else "organization.unsuspended",
        target=Target(type="organization", id=str(found.id), organization_id=found.id),
        changes={"status": {"before": previous, "after": status}},
        context={"reason": reason} if reason else None,
    )
    await events_service.publish(
        session, OrganizationUpdated(organization_id=found.id, org_id=found.id, fields=["status"])
    )
    return found
