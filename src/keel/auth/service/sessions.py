"""Sessions: one per login and device; revoking one ends its refresh family and, through the
revoked-session cache, its access tokens at once."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.auth import repository
from keel.kit import clock
from keel.kit.cache import Cache

#: How long a session's live/revoked state is trusted from the cache before the database is
#: asked again. Revocation writes the cache at once, so this only bounds a lost cache entry.
STATE_TTL_SECONDS = 60.0


def state_key(session_id: uuid.UUID) -> str:
    return f"auth:session:{session_id}"


async def mark_revoked(cache: Cache, session_id: uuid.UUID) -> None:
    await cache.set(state_key(session_id), "revoked", ttl=STATE_TTL_SECONDS)


async def revoke_all(
    session: AsyncSession,
    actor: Actor,
    user_id: uuid.UUID,
    *,
    reason: str,
    cache: Cache,
    keep: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """End every session of ``user_id`` but ``keep`` (password reset, password change...)."""
    revoked = await repository.revoke_sessions(
        session, user_id, now=clock.now(), reason=reason, keep=keep
    )
    for session_id in revoked:
        await mark_revoked(cache, session_id)
        await audit_service.record(
            session,
            actor,
            "session.revoked",
            target=Target("session", str(session_id)),
            context={"reason": reason},
        )
    return revoked
