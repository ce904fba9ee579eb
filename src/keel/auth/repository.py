"""Every query on the auth domain's tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from keel.auth.models import AuthSession


async def add_session(session: AsyncSession, auth_session: AuthSession) -> AuthSession:
    session.add(auth_session)
    await session.flush()
    return auth_session


async def get_session(session: AsyncSession, session_id: uuid.UUID) -> AuthSession | None:
    return await session.get(AuthSession, session_id)


async def active_sessions(session: AsyncSession, user_id: uuid.UUID) -> list[AuthSession]:
    stmt = (
        select(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .order_by(AuthSession.last_seen_at.desc())
    )
    return list((await session.scalars(stmt)).all())


async def revoke_sessions(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    now: datetime,
    reason: str,
    keep: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Revoke every live session of the user except ``keep``; returns the ids revoked."""
    stmt = (
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .returning(AuthSession.id)
        .execution_options(synchronize_session=False)
    )
    if keep is not None:
        stmt = stmt.where(AuthSession.id != keep)
    return list((await session.scalars(stmt)).all())
