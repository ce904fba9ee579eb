"""Every query on the auth domain's tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from keel.auth.models import AuthSession, RecoveryCode, TotpFactor


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


# --- MFA ----------------------------------------------------------------------------------


async def totp_factor(session: AsyncSession, user_id: uuid.UUID) -> TotpFactor | None:
    stmt = select(TotpFactor).where(TotpFactor.user_id == user_id)
    result: TotpFactor | None = await session.scalar(stmt)
    return result


async def delete_mfa(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(delete(TotpFactor).where(TotpFactor.user_id == user_id))
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))


async def replace_recovery_codes(
    session: AsyncSession, user_id: uuid.UUID, code_hashes: list[str]
) -> None:
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    session.add_all(RecoveryCode(user_id=user_id, code_hash=h) for h in code_hashes)
    await session.flush()


async def use_recovery_code(
    session: AsyncSession, user_id: uuid.UUID, code_hash: str, *, now: datetime
) -> bool:
    """Atomic single use: of two concurrent uses of one code, one succeeds."""
    stmt = (
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == code_hash,
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(await session.execute(stmt), "rowcount", 0))


async def advance_totp_step(session: AsyncSession, factor_id: uuid.UUID, step: int) -> bool:
    """Record ``step`` as used unless it (or a later one) already was: a TOTP code is
    accepted once, even by two concurrent requests."""
    stmt = (
        update(TotpFactor)
        .where(
            TotpFactor.id == factor_id,
            or_(TotpFactor.last_used_step.is_(None), TotpFactor.last_used_step < step),
        )
        .values(last_used_step=step)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(await session.execute(stmt), "rowcount", 0))


async def remaining_recovery_codes(session: AsyncSession, user_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
    )
    return int(await session.scalar(stmt) or 0)
