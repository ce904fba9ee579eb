"""Every query on the ``idempotency_keys`` table."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, null, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from keel.kit.idempotency.models import IdempotencyKey
from keel.kit.ids import new_id


async def claim(
    session: AsyncSession, *, scope: str, fingerprint: str, now: datetime, expires_at: datetime
) -> uuid.UUID | None:
    """The new claim's id, or None when a live claim holds the scope. An expired row is
    taken over in place (the purge may not have run yet). A claim held by a transaction that
    has not ended yet makes this statement wait for it (the unique index), then decide."""
    builder = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    insert = builder(IdempotencyKey).values(
        id=new_id(), scope=scope, fingerprint=fingerprint, created_at=now, expires_at=expires_at
    )
    stmt = insert.on_conflict_do_update(
        index_elements=[IdempotencyKey.scope],
        set_={
            "fingerprint": insert.excluded.fingerprint,
            "status_code": null(),
            "response_headers": null(),
            "response_body": null(),
            "created_at": insert.excluded.created_at,
            "expires_at": insert.excluded.expires_at,
        },
        where=IdempotencyKey.expires_at <= now,
    ).returning(IdempotencyKey.id)
    claimed: uuid.UUID | None = (await session.execute(stmt)).scalar_one_or_none()
    return claimed


async def find(session: AsyncSession, scope: str) -> IdempotencyKey | None:
    stmt = select(IdempotencyKey).where(IdempotencyKey.scope == scope)
    return (await session.execute(stmt)).scalar_one_or_none()


async def answer(
    session: AsyncSession,
    claim_id: uuid.UUID,
    *,
    status_code: int,
    headers: dict[str, Any],
    body: bytes,
) -> None:
    stmt = (
        update(IdempotencyKey)
        .where(IdempotencyKey.id == claim_id)
        .values(status_code=status_code, response_headers=headers, response_body=body)
        .execution_options(synchronize_session=False)
    )
    await session.execute(stmt)


async def release(session: AsyncSession, claim_id: uuid.UUID) -> None:
    stmt = (
        delete(IdempotencyKey)
        .where(IdempotencyKey.id == claim_id)
        .execution_options(synchronize_session=False)
    )
    await session.execute(stmt)


async def purge_expired(session: AsyncSession, *, now: datetime) -> int:
    stmt = (
        delete(IdempotencyKey)
        .where(IdempotencyKey.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(await session.execute(stmt), "rowcount", 0) or 0)
