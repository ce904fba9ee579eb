"""Every query on the ``users`` table."""

from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.kit.repository import Repository, Window
from keel.kit.schemas import PageParams
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


class UserDirectory(Repository[User]):
    """Every account, for the platform owner (the God dashboard)."""

    model = User

    async def search(self, query: str, page: PageParams) -> Window[User]:
        """Newest first; ``query`` matches the email exactly (the unique index) or a part of
        the email or name, case-insensitive. Blank lists them all."""
        stmt = self.base_statement()
        text = query.strip().lower()
        if text:
            pattern = f"%{_escape_like(text)}%"
            stmt = stmt.where(
                or_(
                    User.email == text,
                    User.email.like(pattern, escape="\\"),
                    func.lower(User.name).like(pattern, escape="\\"),
                )
            )
        return await self.paginate(stmt, page)

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(User)) or 0)

    async def newest(self, limit: int) -> list[User]:
        """The latest sign-ups (ids are UUIDv7: id order is creation order)."""
        stmt = self.base_statement().order_by(User.id.desc()).limit(limit)
        return list((await self.session.scalars(stmt)).all())


def _escape_like(text: str) -> str:
    """``%`` and ``_`` typed in a search box are letters, not wildcards."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
