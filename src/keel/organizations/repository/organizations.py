"""Queries on ``organizations`` and the per-request access lookup."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.kit.tenancy import AccessibleOrgId
from keel.organizations.models import CustomRole, Membership, Organization
from keel.users.models import User


@dataclass(frozen=True, slots=True)
class AccessRow:
    user: User
    organization: Organization | None
    membership: Membership | None
    custom_role: CustomRole | None


async def access_row(
    session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID
) -> AccessRow | None:
    """The user, the organization, the user's membership and custom role in one round trip."""
    stmt = (
        select(User, Organization, Membership, CustomRole)
        .select_from(User)
        .outerjoin(Organization, Organization.id == org_id)
        .outerjoin(
            Membership,
            and_(Membership.organization_id == Organization.id, Membership.user_id == User.id),
        )
        .outerjoin(CustomRole, CustomRole.id == Membership.custom_role_id)
        .where(User.id == user_id)
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        return None
    return AccessRow(*row)


async def get(session: AsyncSession, org_id: AccessibleOrgId) -> Organization | None:
    return await session.get(Organization, org_id)


async def get_for_job(session: AsyncSession, org_id: uuid.UUID) -> Organization | None:
    """For jobs writing on an organization's behalf, after they entered its tenant scope."""
    return await session.get(Organization, org_id)


async def add(session: AsyncSession, organization: Organization) -> Organization:
    session.add(organization)
    await session.flush()
    return organization


async def of_user(session: AsyncSession, user_id: uuid.UUID) -> list[tuple[Organization, str]]:
    """The user's organizations with their role, oldest membership first."""
    stmt = (
        select(Organization, Membership.role)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == user_id)
        .order_by(Membership.joined_at, Organization.id)
    )
    return [(org, role) for org, role in (await session.execute(stmt)).all()]


async def delete(session: AsyncSession, organization: Organization) -> None:
    await session.delete(organization)
    await session.flush()
