"""Every query on the ``users`` table."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.users.models import ACTIVE, User


async def get(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    """``email`` must already be normalized (see ``rules.normalize_email``)."""
    result: User | None = await session.scalar(select(User).where(User.email == email))
    return result


async def add(session: AsyncSession, user: User) -> User:
    session.add(user)
    await session.flush()
    return user


async def active_superadmins(session: AsyncSession) -> list[User]:
    """Oldest first; ``ix_users_is_superadmin`` finds the few among all users."""
    stmt = (
        select(User)
        .where(User.is_superadmin.is_(True), User.status == ACTIVE)
        .order_by(User.created_at)
    )
    return list((await session.scalars(stmt)).all())
