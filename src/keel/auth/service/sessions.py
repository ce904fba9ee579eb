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


async def revoke_all(
    session: AsyncSession,
    actor: Actor,
    user_id: uuid.UUID,
    *,
    reason: str,
    keep: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """End every session of ``user_id`` but ``keep`` (password reset, password change...)."""
    revoked = await repository.revoke_sessions(
        session, user_id, now=clock.now(), reason=reason, keep=keep
    )
    for session_id in revoked:
        await audit_service.record(
            session,
            actor,
            "session.revoked",
            target=Target("session", str(session_id)),
            context={"reason": reason},
        )
    return revoked
