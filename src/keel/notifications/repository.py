"""Every query on ``notifications`` and ``email_unsubscriptions``. Both are user-owned: each
statement is narrowed to one ``user_id``, which is the whole of their isolation."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from keel.kit.repository import Repository, Window
from keel.kit.schemas import PageParams
from keel.notifications.models import EmailUnsubscription, Notification


class InboxRepository(Repository[Notification]):
    model = Notification

    def __init__(self, session: AsyncSession, user_id: uuid.UUID) -> None:
        super().__init__(session)
        self.user_id = user_id

    def base_statement(self) -> Select[Notification]:
        return select(Notification).where(Notification.user_id == self.user_id)

    async def page(self, page: PageParams, *, unread_only: bool) -> Window[Notification]:
        stmt = self.base_statement()
        if unread_only:
            stmt = stmt.where(Notification.read_at.is_(None))
        return await self.paginate(stmt, page)

    async def unread_count(self) -> int:
        stmt = select(func.count()).where(
            Notification.user_id == self.user_id, Notification.read_at.is_(None)
        )
        return int(await self.session.scalar(stmt) or 0)

    async def mark_read(self, notification_id: uuid.UUID, *, now: datetime) -> bool:
        """True when the notification is the user's (read before or now)."""
        found = await self.get(notification_id)
        if found is None:
            return False
        if found.read_at is None:
            found.read_at = now
            await self.session.flush()
        return True

    async def mark_all_read(self, *, now: datetime) -> int:
        stmt = (
            update(Notification)
            .where(Notification.user_id == self.user_id, Notification.read_at.is_(None))
            .values(read_at=now)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0)

    async def insert(self, values: Mapping[str, Any]) -> uuid.UUID | None:
        """Insert unless the user already has a notification with its ``dedupe_key``."""
        builder = pg_insert if _dialect(self.session) == "postgresql" else sqlite_insert
        stmt = builder(Notification).values(user_id=self.user_id, **values)
        if values.get("dedupe_key") is not None:
            stmt = stmt.on_conflict_do_nothing(index_elements=["user_id", "dedupe_key"])
        return await self.session.scalar(stmt.returning(Notification.id))


async def purge_older_than(session: AsyncSession, moment: datetime) -> int:
    result = await session.execute(delete(Notification).where(Notification.created_at < moment))
    return int(getattr(result, "rowcount", 0) or 0)


async def unsubscribed(session: AsyncSession, user_id: uuid.UUID) -> set[str]:
    stmt = select(EmailUnsubscription.category).where(EmailUnsubscription.user_id == user_id)
    return set((await session.scalars(stmt)).all())


async def is_unsubscribed(session: AsyncSession, user_id: uuid.UUID, category: str) -> bool:
    stmt = select(EmailUnsubscription.category).where(
        EmailUnsubscription.user_id == user_id, EmailUnsubscription.category == category
    )
    return await session.scalar(stmt) is not None


async def unsubscribe(
    session: AsyncSession, user_id: uuid.UUID, categories: Iterable[str], *, now: datetime
) -> None:
    rows = [{"user_id": user_id, "category": c, "created_at": now} for c in categories]
    if not rows:
        return
    builder = pg_insert if _dialect(session) == "postgresql" else sqlite_insert
    await session.execute(builder(EmailUnsubscription).values(rows).on_conflict_do_nothing())


async def resubscribe(session: AsyncSession, user_id: uuid.UUID, categories: Iterable[str]) -> None:
    wanted = list(categories)
    if wanted:
        await session.execute(
            delete(EmailUnsubscription).where(
                EmailUnsubscription.user_id == user_id, EmailUnsubscription.category.in_(wanted)
            )
        )


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name
