"""Queries on ``invitations``. The lookup by token hash is the one cross-tenant query: the
caller lifts tenant isolation for it (``tenancy.enter_platform``) and says why."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from keel.kit.repository import TenantRepository, Window
from keel.kit.schemas import PageParams
from keel.organizations.models import Invitation


async def claim(
    session: AsyncSession, invitation_id: uuid.UUID, user_id: uuid.UUID, *, now: datetime
) -> bool:
    """Mark it accepted if it is still open: one conditional UPDATE, so two clicks racing on
    one link cannot both succeed."""
    stmt = (
        update(Invitation)
        .where(
            Invitation.id == invitation_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(accepted_at=now, accepted_by=user_id)
        .execution_options(synchronize_session="fetch")
    )
    result = await session.execute(stmt)
    return bool(getattr(result, "rowcount", 0) == 1)


async def by_token_hash(session: AsyncSession, token_hash: str) -> Invitation | None:
    found: Invitation | None = await session.scalar(
        select(Invitation).where(Invitation.token_hash == token_hash)
    )
    return found


async def get_for_job(
    session: AsyncSession, org_id: uuid.UUID, invitation_id: uuid.UUID
) -> Invitation | None:
    """For jobs reacting to an invitation, after they entered its organization's scope."""
    found: Invitation | None = await session.scalar(
        select(Invitation).where(
            Invitation.organization_id == org_id, Invitation.id == invitation_id
        )
    )
    return found


class InvitationRepository(TenantRepository[Invitation]):
    model = Invitation

    async def page(self, page: PageParams) -> Window[Invitation]:
        return await self.paginate(self.base_statement(), page)

    async def pending_for(self, email: str, *, now: datetime) -> Invitation | None:
        """The open (unused, unrevoked, unexpired) invitation for ``email``, newest first."""
        stmt = (
            self.base_statement()
            .where(
                Invitation.email == email,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
            .order_by(Invitation.created_at.desc())
            .limit(1)
        )
        found: Invitation | None = await self.session.scalar(stmt)
        return found
