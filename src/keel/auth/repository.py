"""Every query on the auth domain's tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from keel.auth.models import (
    ActionToken,
    ApiKey,
    AuthSession,
    RecoveryCode,
    RefreshToken,
    TotpFactor,
)
from keel.kit.repository import TenantRepository


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


async def confirmed_totp_users(session: AsyncSession, user_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    stmt = select(TotpFactor.user_id).where(
        TotpFactor.user_id.in_(user_ids), TotpFactor.confirmed_at.is_not(None)
    )
    return set((await session.scalars(stmt)).all())


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


# --- Refresh tokens, single sessions and MFA factors (login, refresh, logout) ---------------


async def add_refresh_token(session: AsyncSession, token: RefreshToken) -> RefreshToken:
    session.add(token)
    await session.flush()
    return token


async def claim_refresh_token(
    session: AsyncSession, token_hash: str, *, now: datetime
) -> uuid.UUID | None:
    """Mark the token rotated if nobody has yet; returns its session id, or None when it is
    unknown, idle-expired or already rotated. One conditional UPDATE, so of two concurrent
    callers exactly one sees the row (PostgreSQL re-checks the WHERE after the row lock;
    SQLite serialises writers)."""
    stmt = (
        update(RefreshToken)
        .where(
            RefreshToken.token_hash == token_hash,
            RefreshToken.rotated_at.is_(None),
            RefreshToken.idle_expires_at > now,
        )
        .values(rotated_at=now)
        .returning(RefreshToken.session_id)
        .execution_options(synchronize_session=False)
    )
    session_id: uuid.UUID | None = (await session.execute(stmt)).scalar_one_or_none()
    return session_id


async def get_refresh_token(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    stmt = select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    return (await session.scalars(stmt)).one_or_none()


async def revoke_session(
    session: AsyncSession, session_id: uuid.UUID, *, now: datetime, reason: str
) -> bool:
    """True when this call revoked it (False: unknown or already revoked)."""
    stmt = (
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .returning(AuthSession.id)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def touch_session(session: AsyncSession, session_id: uuid.UUID, *, now: datetime) -> None:
    stmt = (
        update(AuthSession)
        .where(AuthSession.id == session_id)
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(stmt)


async def fresh_session(session: AsyncSession, session_id: uuid.UUID) -> AuthSession | None:
    """The row as stored now, not a copy the unit of work loaded before an UPDATE."""
    return await session.get(AuthSession, session_id, populate_existing=True)


async def set_session_mfa_verified(
    session: AsyncSession, session_id: uuid.UUID, *, now: datetime
) -> None:
    stmt = (
        update(AuthSession)
        .where(AuthSession.id == session_id)
        .values(mfa_verified_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(stmt)


# --- Action tokens ------------------------------------------------------------------------


async def void_action_tokens(
    session: AsyncSession, user_id: uuid.UUID, purpose: str, *, now: datetime
) -> None:
    """Mark the user's unused tokens for ``purpose`` used: only the newest link works."""
    stmt = (
        update(ActionToken)
        .where(
            ActionToken.user_id == user_id,
            ActionToken.purpose == purpose,
            ActionToken.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(stmt)


async def add_action_token(session: AsyncSession, token: ActionToken) -> None:
    session.add(token)
    await session.flush()


async def claim_action_token(
    session: AsyncSession, digest: str, purpose: str, *, now: datetime
) -> tuple[uuid.UUID, dict[str, Any]] | None:
    """Atomic single use: of two concurrent uses of one token, one gets the row."""
    stmt = (
        update(ActionToken)
        .where(
            ActionToken.token_hash == digest,
            ActionToken.purpose == purpose,
            ActionToken.used_at.is_(None),
            ActionToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(ActionToken.user_id, ActionToken.data)
        .execution_options(synchronize_session=False)
    )
    row = (await session.execute(stmt)).one_or_none()
    return None if row is None else (row.user_id, dict(row.data or {}))


async def action_token_by_hash(session: AsyncSession, digest: str) -> ActionToken | None:
    result: ActionToken | None = await session.scalar(
        select(ActionToken).where(ActionToken.token_hash == digest)
    )
    return result


async def known_devices(
    session: AsyncSession, user_id: uuid.UUID, user_agent: str | None
) -> tuple[bool, bool]:
    """(has the user logged in before, from this user agent before)."""
    stmt = select(
        func.count(),
        func.count().filter(AuthSession.user_agent == user_agent),
    ).where(AuthSession.user_id == user_id)
    total, same = (await session.execute(stmt)).one()
    return bool(total), bool(same)


# --- API keys -----------------------------------------------------------------------------


class ApiKeyRepository(TenantRepository[ApiKey]):
    """An organization's API keys (built with the typed proof of access)."""

    model = ApiKey

    async def newest_first(self) -> list[ApiKey]:
        stmt = self.base_statement().order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
        return list((await self.session.scalars(stmt)).all())

    async def count_active(self, *, now: datetime) -> int:
        stmt = (
            select(func.count())
            .select_from(ApiKey)
            .where(
                ApiKey.organization_id == self.org_id,
                ApiKey.revoked_at.is_(None),
                or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
            )
        )
        return int(await self.session.scalar(stmt) or 0)


async def api_key_by_hash(session: AsyncSession, secret_hash: str) -> ApiKey | None:
    """Cross-tenant by nature: the caller lifts tenancy for this one query (and restores it)."""
    result: ApiKey | None = await session.scalar(
        select(ApiKey).where(ApiKey.secret_hash == secret_hash)
    )
    return result


async def touch_api_key(session: AsyncSession, key_id: uuid.UUID, *, now: datetime) -> None:
    stmt = (
        update(ApiKey)
        .where(ApiKey.id == key_id)
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(stmt)
