"""Sessions: one per login and device; revoking one ends its refresh family and, through the
revoked-session cache, its access tokens at once."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.auth import repository, rules
from keel.auth.errors import RefreshTokenInvalid
from keel.auth.events import SecurityAlert
from keel.auth.models import AuthSession, RefreshToken
from keel.config import Settings
from keel.events import service as events_service
from keel.kit import clock, near_cache, security
from keel.kit.cache import Cache
from keel.kit.errors import NotFound
from keel.users import service as users_service
from keel.users.models import ACTIVE, User
from keel.users.service import user_tag

#: How long a session's live/revoked state is trusted from the cache before the database is
#: asked again. Revocation writes the cache at once, so this only bounds a lost cache entry.
STATE_TTL_SECONDS = 60.0
LIVE = "live"
REUSE_REASON = "refresh_token_reused"


def state_key(session_id: uuid.UUID) -> str:
    return f"auth:session:{session_id}"


async def mark_revoked(session: AsyncSession, cache: Cache, session_id: uuid.UUID) -> None:
    """Revocation takes effect at once, before the commit: the shared state says "revoked",
    then every process drops its near copy (which then reads that state)."""
    await cache.set(state_key(session_id), "revoked", ttl=STATE_TTL_SECONDS)
    near = near_cache.of(session)
    if near is not None:
        await near.invalidate([_session_tag(session_id)])


def _session_tag(session_id: uuid.UUID) -> str:
    return f"session:{session_id}"


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
        await _ended(session, actor, session_id, cache=cache, reason=reason)
    return revoked


async def start(
    session: AsyncSession,
    actor: Actor,
    user: User,
    *,
    ip: str | None,
    user_agent: str | None,
    cache: Cache,
    settings: Settings,
) -> tuple[AuthSession, str]:
    """Open a session for ``user`` (after every login factor passed); returns it and its
    first refresh token, the only time that token exists in clear."""
    now = clock.now()
    auth_session = AuthSession(
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(days=settings.auth.refresh_token_days),
        ip=ip,
        user_agent=(user_agent or "")[:500] or None,
    )
    await repository.add_session(session, auth_session)
    refresh_token = await _issue_refresh_token(session, auth_session, now=now, settings=settings)
    await cache.set(state_key(auth_session.id), LIVE, ttl=STATE_TTL_SECONDS)
    await audit_service.record(
        session, actor, "session.started", target=Target("session", str(auth_session.id))
    )
    return auth_session, refresh_token


async def mark_mfa_verified(session: AsyncSession, session_id: uuid.UUID) -> None:
    """Record that this session passed the second factor (the MFA gates read it)."""
    await repository.set_session_mfa_verified(session, session_id, now=clock.now())


async def rotate(
    session: AsyncSession,
    actor: Actor,
    refresh_token: str,
    *,
    cache: Cache,
    settings: Settings,
) -> tuple[AuthSession, str]:
    """Exchange a refresh token for the next one of its family.

    A token already rotated is judged by :func:`rules.judge_rotated_refresh`: a replay past
    the grace window ends the whole session (it was copied), one inside it is the client's own
    race and is only refused.
    """
    now = clock.now()
    token_hash = security.token_hash(refresh_token)
    session_id = await repository.claim_refresh_token(session, token_hash, now=now)
    if session_id is None:
        await _refuse_refresh(session, actor, token_hash, cache=cache, settings=settings, now=now)
    assert session_id is not None
    auth_session = await repository.fresh_session(session, session_id)
    if auth_session is None or not await _usable(session, auth_session, now=now):
        raise RefreshTokenInvalid("The session of this refresh token has ended; log in again.")
    await repository.touch_session(session, session_id, now=now)
    auth_session.last_seen_at = now
    new_token = await _issue_refresh_token(session, auth_session, now=now, settings=settings)
    return auth_session, new_token


async def revoke(
    session: AsyncSession,
    actor: Actor,
    session_id: uuid.UUID,
    *,
    cache: Cache,
    reason: str,
) -> bool:
    """End one session (logout, "sign out this device"); False when it was already over."""
    revoked = await repository.revoke_session(session, session_id, now=clock.now(), reason=reason)
    if revoked:
        await _ended(session, actor, session_id, cache=cache, reason=reason)
    else:
        await mark_revoked(session, cache, session_id)
    return revoked


async def _ended(
    session: AsyncSession, actor: Actor, session_id: uuid.UUID, *, cache: Cache, reason: str
) -> None:
    await mark_revoked(session, cache, session_id)
    await audit_service.record(
        session,
        actor,
        "session.revoked",
        target=Target("session", str(session_id)),
        context={"reason": reason},
    )


async def list_active(session: AsyncSession, user_id: uuid.UUID) -> list[AuthSession]:
    now = clock.now()
    return [s for s in await repository.active_sessions(session, user_id) if s.expires_at > now]


async def get_for_user(
    session: AsyncSession, user_id: uuid.UUID, session_id: uuid.UUID
) -> AuthSession:
    """The user's own session; another user's id is indistinguishable from an unknown one."""
    auth_session = await repository.get_session(session, session_id)
    if auth_session is None or auth_session.user_id != user_id:
        raise NotFound("No such session among yours; list them at GET /api/v1/me/sessions.")
    return auth_session


async def is_live(
    session: AsyncSession, session_id: uuid.UUID, *, user_id: uuid.UUID, cache: Cache
) -> bool:
    """The check behind every authenticated request. A "live" answer is kept in the near
    cache (dropped on revocation and on any change to the user); below it, the shared cache
    answers almost always; on a miss the row and its user decide, and the answer is cached
    for ``STATE_TTL_SECONDS``."""
    key = _session_tag(session_id)
    tags = (key, user_tag(user_id), near_cache.table_tag(User))
    near = near_cache.usable(session, tags)
    if near is None:
        return await _is_live(session, session_id, cache=cache)
    if near.get(key):
        return True
    seen = near.mark(tags)
    live = await _is_live(session, session_id, cache=cache)
    if live:
        near.put(key, True, tags, seen)
    return live


async def _is_live(session: AsyncSession, session_id: uuid.UUID, *, cache: Cache) -> bool:
    state = await cache.get(state_key(session_id))
    if state is not None:
        return bool(state == LIVE)
    auth_session = await repository.get_session(session, session_id)
    live = auth_session is not None and await _usable(session, auth_session, now=clock.now())
    await cache.set(state_key(session_id), LIVE if live else "revoked", ttl=STATE_TTL_SECONDS)
    return live


async def _usable(session: AsyncSession, auth_session: AuthSession, *, now: datetime) -> bool:
    user = await users_service.get(session, auth_session.user_id)
    return rules.session_is_live(
        revoked_at=auth_session.revoked_at,
        expires_at=auth_session.expires_at,
        user_active=user is not None and user.status == ACTIVE,
        now=now,
    )


async def _issue_refresh_token(
    session: AsyncSession, auth_session: AuthSession, *, now: datetime, settings: Settings
) -> str:
    token = security.new_token()
    idle = rules.next_idle_expiry(
        now=now,
        idle_days=settings.auth.refresh_idle_days,
        session_expires_at=auth_session.expires_at,
    )
    await repository.add_refresh_token(
        session,
        RefreshToken(
            session_id=auth_session.id,
            token_hash=security.token_hash(token),
            created_at=now,
            idle_expires_at=idle,
        ),
    )
    return token


async def _refuse_refresh(
    session: AsyncSession,
    actor: Actor,
    token_hash: str,
    *,
    cache: Cache,
    settings: Settings,
    now: datetime,
) -> NoReturn:
    stored = await repository.get_refresh_token(session, token_hash)
    if stored is None or stored.rotated_at is None:
        raise RefreshTokenInvalid("This refresh token is unknown or expired; log in again.")
    verdict = rules.judge_rotated_refresh(
        stored.rotated_at, now=now, grace_seconds=settings.auth.refresh_reuse_grace_seconds
    )
    if verdict == "raced":
        raise RefreshTokenInvalid("This refresh token was just used; use the newer one.")
    await _end_reused_family(session, actor, stored.session_id, cache=cache)
    raise RefreshTokenInvalid(
        "This refresh token was already used, so its session was ended for safety; log in again."
    )


async def _end_reused_family(
    session: AsyncSession, actor: Actor, session_id: uuid.UUID, *, cache: Cache
) -> None:
    auth_session = await repository.fresh_session(session, session_id)
    if auth_session is None:
        return
    await revoke(session, actor, session_id, cache=cache, reason=REUSE_REASON)
    target = Target("session", str(session_id))
    context = {"user_id": str(auth_session.user_id)}
    await audit_service.record(
        session, actor, "session.refresh_reused", target=target, context=context
    )
    await events_service.publish(
        session,
        SecurityAlert(
            kind="refresh_token_reused",
            user_id=auth_session.user_id,
            session_id=session_id,
            ip=actor.ip,
        ),
    )
