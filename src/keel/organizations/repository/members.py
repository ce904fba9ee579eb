"""Queries on ``memberships`` (and the users behind them)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from keel.kit.repository import TenantRepository, Window
from keel.kit.schemas import PageParams
from keel.organizations.models import CustomRole, Membership
from keel.users.models import ACTIVE, User

ADMIN = "admin"


class MembershipRepository(TenantRepository[Membership]):
    model = Membership

    async def page(
        self, page: PageParams, *, team_id: uuid.UUID | None = None
    ) -> Window[Membership]:
        """Oldest member first, so the founding admin heads the list; ``team_id`` narrows
        to that team's members."""
        stmt = self.base_statement()
        if team_id is not None:
            stmt = stmt.where(Membership.team_id == team_id)
        return await self.paginate(stmt, page, order_by=Membership.joined_at, descending=False)

    async def of_user(self, user_id: uuid.UUID, *, for_update: bool = False) -> Membership | None:
        stmt = self.base_statement().where(Membership.user_id == user_id)
        if for_update:
            stmt = stmt.with_for_update()
        # Fresh from the database: the caller's own row may sit stale in the identity map.
        stmt = stmt.execution_options(populate_existing=True)
        found: Membership | None = await self.session.scalar(stmt)
        return found

    async def lock_admins(self) -> list[Membership]:
        """The organization's admin rows, locked until the transaction ends (PostgreSQL;
        SQLite's single writer lock already serializes writers). Two concurrent demotions
        queue here, and the second one sees the first one's result."""
        stmt = (
            self.base_statement()
            .where(Membership.role == ADMIN)
            .order_by(Membership.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return list((await self.session.scalars(stmt)).all())

    async def count(self) -> int:
        stmt = select(func.count()).select_from(Membership)
        total = await self.session.scalar(stmt.where(Membership.organization_id == self.org_id))
        return int(total or 0)

    async def of_email(self, email: str) -> Membership | None:
        stmt = (
            self.base_statement()
            .join(User, User.id == Membership.user_id)
            .where(User.email == email)
        )
        found: Membership | None = await self.session.scalar(stmt)
        return found

    async def users(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, User]:
        """The members' user rows in one query (``users`` is not a tenant table)."""
        ids = list(user_ids)
        if not ids:
            return {}
        rows = await self.session.scalars(select(User).where(User.id.in_(ids)))
        return {user.id: user for user in rows}

    async def team_counts(self, team_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
        """Members per team, one grouped query for a whole page of teams."""
        ids = list(team_ids)
        if not ids:
            return {}
        stmt = (
            select(Membership.team_id, func.count())
            .where(Membership.organization_id == self.org_id, Membership.team_id.in_(ids))
            .group_by(Membership.team_id)
        )
        rows = (await self.session.execute(stmt)).all()
        return {team_id: int(n) for team_id, n in rows if team_id is not None}

    async def clear_team(self, team_id: uuid.UUID) -> None:
        stmt = (
            update(Membership)
            .where(Membership.organization_id == self.org_id, Membership.team_id == team_id)
            .values(team_id=None)
            .execution_options(synchronize_session="fetch")
        )
        await self.session.execute(stmt)

    async def delete(self, membership: Membership) -> None:
        await self.session.delete(membership)
        await self.session.flush()


async def active_admins(session: AsyncSession, org_id: uuid.UUID) -> list[User]:
    """The organization's active admins, oldest membership first (for mail sent by jobs)."""
    stmt = (
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.organization_id == org_id,
            Membership.role == ADMIN,
            User.status == ACTIVE,
        )
        .order_by(Membership.joined_at)
    )
    return list((await session.scalars(stmt)).all())


class CustomRoleRefs(TenantRepository[CustomRole]):
    """Only to prove a custom role id belongs to the organization before it is assigned."""

    model = CustomRole


async def add(session: AsyncSession, membership: Membership) -> Membership:
    """A new membership from an accepted invitation: no proof of access exists yet (the
    person is not a member); the invitation's single-use token is the proof."""
    session.add(membership)
    await session.flush()
    return membership


async def is_member(session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    stmt = select(Membership.id).where(
        Membership.organization_id == org_id, Membership.user_id == user_id
    )
    return await session.scalar(stmt) is not None
