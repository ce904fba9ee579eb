"""Who is calling: ``CurrentActor`` and ``CurrentUser`` resolve ``Authorization: Bearer <jwt>``
(or ``Bearer keel_...``, an organization's API key, for ``CurrentActor`` only) once per request.

The per-request cost is one Ed25519 verification and one cache read: a session's state
("live" or "revoked") is cached, revocation overwrites it at once, and the database is asked
only on a miss.

``AuthIpLimit`` is the per-IP budget of the auth routes, which run before anyone is known.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.dependencies import request_actor, requirement
from keel.access.schemas import Actor
from keel.auth.errors import MfaEnrollmentRequired, PersonRequired
from keel.auth.service import api_keys, mfa, sessions, tokens
from keel.kit import clock, idempotency, ratelimit
from keel.kit.deps import AppResources, DbSession, Resources
from keel.kit.errors import PermissionDenied
from keel.users import service as users_service
from keel.users.models import ACTIVE, User

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def not_authenticated(detail: str) -> HTTPException:
    """401 ``not_authenticated`` with the ``WWW-Authenticate`` challenge RFC 6750 asks for."""
    return HTTPException(status_code=401, detail=detail, headers=_CHALLENGE)


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise not_authenticated("Send Authorization: Bearer <access token>; log in to get one.")
    return token.strip()


@requirement("authenticated")
async def current_actor(request: Request, db: DbSession, resources: AppResources) -> Actor:
    """A user's access token, or an organization's API key (``Bearer keel_...``), from the
    Authorization header only: the API never reads the web's session cookie (cookies there
    would need CSRF tokens; the pages resolve the same Actor in ``keel.web``)."""
    token = bearer_token(request)
    if api_keys.looks_like_key(token):
        return await actor_for_api_key(request, token, db=db, resources=resources)
    return await actor_for_token(request, token, db=db, resources=resources)


async def actor_for_api_key(
    request: Request, secret: str, *, db: AsyncSession, resources: Resources
) -> Actor:
    """The key's Actor: its organization and permissions, acting for its creator."""
    identity = await api_keys.identify(db, secret, cache=resources.cache)
    if identity is None:
        raise not_authenticated("This API key is not valid; check it, or create a new one.")
    refusal = identity.refusal(now=clock.now())
    if refusal is not None:
        raise not_authenticated(refusal)
    await api_keys.note_used(resources.database, identity, cache=resources.cache)
    origin = request_actor(request)
    return Actor(
        kind="api_key",
        id=str(identity.id),
        organization_id=identity.organization_id,
        ip=origin.ip,
        user_agent=origin.user_agent,
        request_id=origin.request_id,
        permissions=identity.permissions,
        on_behalf_of=identity.created_by,
    )


async def actor_for_token(
    request: Request, token: str, *, db: AsyncSession, resources: Resources
) -> Actor:
    """The session's Actor for an access token, from a header or the web session cookie."""
    try:
        claims = tokens.read_access_token(resources.settings, token)
    except tokens.InvalidToken:
        raise not_authenticated(
            "The access token is invalid or expired; refresh it or log in again."
        ) from None
    if not await sessions.is_live(
        db, claims.session_id, user_id=claims.user_id, cache=resources.cache
    ):
        raise not_authenticated("This session has ended; log in again.")
    origin = request_actor(request)
    return Actor(
        kind="user",
        id=str(claims.user_id),
        ip=origin.ip,
        user_agent=origin.user_agent,
        request_id=origin.request_id,
        session_id=claims.session_id,
    )


CurrentActor = Annotated[Actor, Depends(current_actor)]


@idempotency.guard
async def idempotency_guard(
    request: Request,
    db: DbSession,
    actor: CurrentActor,
    idempotency_key: idempotency.IdempotencyKeyHeader = None,
) -> None:
    """Honours ``Idempotency-Key`` (keel.kit.idempotency), keyed by the actor's kind and id:
    stable across a user's token refreshes, distinct per API key. (The parameter's name must
    not be a path parameter of any route: ``key`` is one of the flags routes'.)"""
    caller = f"{actor.kind}:{actor.id}"
    await idempotency.begin(request, db, caller=caller, key=idempotency_key)


#: For POST routes that create: declare it *after* the route's authorization dependency, so a
#: refused caller never claims a key (tests/architecture/test_idempotency_coverage.py).
Idempotent = Annotated[None, Depends(idempotency_guard)]


async def enrolling_user(actor: CurrentActor, db: DbSession) -> User:
    """The caller's user row; a user disabled since the session was cached is refused here.
    Not gated on MFA: for the routes a user needs to enroll (``EnrollingUser``). An API key
    is refused: these routes act on a person's own account."""
    if actor.kind != "user":
        raise PersonRequired(
            "This route acts on a person's account; an API key may not call it. "
            "Use the access token of a signed-in user."
        )
    user = await users_service.get(db, uuid.UUID(actor.id))
    if user is None or user.status != ACTIVE:
        raise not_authenticated("This account is disabled; contact the administrator.")
    return user


EnrollingUser = Annotated[User, Depends(enrolling_user)]


async def current_user(user: EnrollingUser, db: DbSession) -> User:
    """The caller, gated: a superadmin must have MFA on before doing anything else."""
    if user.is_superadmin and not await mfa.is_enabled(db, user.id):
        raise MfaEnrollmentRequired(
            "The platform owner must turn on two-factor authentication first: "
            "POST /api/v1/me/mfa/totp, then confirm it."
        )
    return user


CurrentUser = Annotated[User, Depends(current_user)]


@requirement("superadmin")
async def platform_owner(user: CurrentUser, actor: CurrentActor) -> Actor:
    """The platform owner (superadmin, MFA on) acting in the God dashboard or its API; the
    actor becomes ``staff`` so audit entries say the change came from the platform."""
    if not user.is_superadmin:
        raise PermissionDenied("Only the platform owner (superadmin) may do this.")
    return replace(actor, kind="staff", on_behalf_of=user.id)


PlatformOwner = Annotated[Actor, Depends(platform_owner)]


async def auth_ip_limit(request: Request, resources: AppResources) -> None:
    """The budget of one client IP on every ``/api/v1/auth/*`` route (the address after
    ``ProxyHeadersMiddleware``: a trusted proxy's ``X-Forwarded-For``), on top of the login
    and password-reset throttles. A rate limit, not an authorization requirement."""
    if request.client is None:
        return
    config = resources.settings.ratelimit
    await ratelimit.enforce(
        request,
        resources.limiter,
        key=f"auth:ip:{request.client.host}",
        limit=config.auth_per_ip,
        window_seconds=config.auth_window_seconds,
    )


#: For ``dependencies=[...]`` of the auth routers (and the one auth route of the MFA router).
AuthIpLimit = Depends(auth_ip_limit)
