"""The caller's own sessions (``/api/v1/me/sessions``): see and end logins on other devices."""

from __future__ import annotations

import uuid

from fastapi import Response

from keel.auth.dependencies import CurrentActor, CurrentUser
from keel.auth.schemas import RevokedSessions, SessionList, SessionRead
from keel.auth.service import sessions as sessions_service
from keel.kit.deps import AppResources, DbSession
from keel.kit.routing import api_router

router = api_router(prefix="/me/sessions", tags=["sessions"])


@router.get("", response_model=SessionList)
async def list_sessions(actor: CurrentActor, user: CurrentUser, db: DbSession) -> SessionList:
    items = [
        SessionRead(
            id=s.id,
            created_at=s.created_at,
            last_seen_at=s.last_seen_at,
            expires_at=s.expires_at,
            ip=s.ip,
            user_agent=s.user_agent,
            current=s.id == actor.session_id,
        )
        for s in await sessions_service.list_active(db, user.id)
    ]
    return SessionList(items=items)


@router.delete("/{session_id}", status_code=204)
async def revoke_session(
    session_id: uuid.UUID,
    actor: CurrentActor,
    user: CurrentUser,
    db: DbSession,
    resources: AppResources,
) -> Response:
    await sessions_service.get_for_user(db, user.id, session_id)
    await sessions_service.revoke(
        db, actor, session_id, cache=resources.cache, reason="revoked_by_user"
    )
    return Response(status_code=204)


@router.post("/revoke-others", response_model=RevokedSessions)
async def revoke_others(
    actor: CurrentActor, user: CurrentUser, db: DbSession, resources: AppResources
) -> RevokedSessions:
    revoked = await sessions_service.revoke_all(
        db,
        actor,
        user.id,
        reason="revoked_by_user",
        cache=resources.cache,
        keep=actor.session_id,
    )
    return RevokedSessions(revoked=len(revoked))
