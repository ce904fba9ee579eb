"""The latest events of one type, newest first (the God dashboard's recent errors)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from keel.events import service as events_service
from keel.users.events import UserUpdated


async def test_newest__one_name__newest_first_limited(db: AsyncSession) -> None:
    ids = [uuid.uuid4() for _ in range(3)]
    for user_id in ids:
        await events_service.publish(db, UserUpdated(user_id=user_id, fields=["name"]))
    newest = await events_service.newest(db, "user.updated", limit=2)
    assert [e.payload["user_id"] for e in newest] == [str(ids[2]), str(ids[1])]
    assert all(e.name == "user.updated" for e in newest)
    assert await events_service.newest(db, "no.such_event") == []
