"""Login, refresh and logout: the password step, the MFA hand-off and the token pair.

Every refusal of a login is the same :class:`InvalidCredentials` whatever the cause (unknown
email, wrong password, disabled or locked account), and each path verifies one password hash,
so neither the answer nor its timing tells an attacker which accounts exist. The cause is
written to the audit log only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.auth import repository
from keel.auth.errors import InvalidCredentials, MfaVerificationFailed
from keel.auth.events import SecurityAlert
from keel.auth.service import action_tokens, mfa, sessions, throttle, tokens
from keel.config import Settings
from keel.events import service as events_service
from keel.kit import clock
from keel.kit.cache import Cache
from keel.kit.errors import NotAuthenticated
from keel.kit.ratelimit import Limiter
from keel.kit.security import KeyRing
from keel.notifications import service as notifications_service
from keel.users import service as users_service
from keel.users.models import ACTIVE, User

ACCOUNT_LOCKED_TEMPLATE = "account_locked"
MFA_ATTEMPTS_PER_TOKEN = 5
UNLOCK_LINK_HOURS = 24
NEW_SIGN_IN_TEMPLATE = "new_sign_in"
_REFUSAL = "The email or password is wrong. Check both and try again."


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class MfaChallenge:
    mfa_token: str


LoginResult = TokenPair | MfaChallenge


async def login(
    session: AsyncSession,
    actor: Actor,
    *,
    email: str,
    password: str,
    cache: Cache,
    limiter: Limiter,
    settings: Settings,
) -> tuple[LoginResult, dict[str, str]]:
    """The password step; returns the result and the per-IP rate-limit headers.

    ``actor`` is the anonymous caller (its IP and user agent). Raises ``LoginRateLimited``
    (429) for an address over its budget, else :class:`InvalidCredentials` on any failure.
    """
    headers = await throttle.check_ip(limiter, settings, actor.ip)
    account = throttle.account_key(email)
    await throttle.pause_before_attempt(cache, account)
    locked = await throttle.is_locked(cache, account)
    user = await users_service.authenticate(session, email=email, password=password)
    if user is None or locked:
        await _fail(
            session,
            actor,
            email=email,
            account=account,
            locked=locked,
            cache=cache,
            limiter=limiter,
            settings=settings,
        )
    assert user is not None
    await throttle.record_success(cache, account)
    user_actor = _as_user(actor, user)
    if await mfa.is_enabled(session, user.id):
        await audit_service.record(session, user_actor, "auth.mfa_challenged", target=_target(user))
        return MfaChallenge(tokens.issue_mfa_token(settings, user_id=user.id)), headers
    return await complete_login(session, user_actor, user, cache=cache, settings=settings), headers


async def complete_login(
    session: AsyncSession, actor: Actor, user: User, *, cache: Cache, settings: Settings
) -> TokenPair:
    """Start the session once every factor passed (password here, or the MFA step)."""
    await _notice_new_device(session, user, actor=actor, settings=settings)
    auth_session, refresh_token = await sessions.start(
        session,
        actor,
        user,
        ip=actor.ip,
        user_agent=actor.user_agent,
        cache=cache,
        settings=settings,
    )
    await audit_service.record(
        session,
        actor,
        "auth.login_succeeded",
        target=_target(user),
        context={"session_id": str(auth_session.id)},
    )
    return _pair(settings, auth_session.user_id, auth_session.id, refresh_token)


async def verify_mfa(
    session: AsyncSession,
    actor: Actor,
    *,
    mfa_token: str,
    code: str,
    cache: Cache,
    limiter: Limiter,
    settings: Settings,
) -> TokenPair:
    """The second step. Attempts are limited per MFA token and count toward the account's
    lockout like wrong passwords, so a stolen password cannot be paired with guessed codes."""
    try:
        user_id, jti = tokens.read_mfa_token(settings, mfa_token)
    except tokens.InvalidToken:
        raise MfaVerificationFailed("The MFA step expired; log in again.") from None
    attempts = await cache.incr(f"auth:mfa:{jti}", ttl=tokens.MFA_TOKEN_MINUTES * 60)
    user = await users_service.get(session, user_id)
    if attempts > MFA_ATTEMPTS_PER_TOKEN or user is None or user.status != ACTIVE:
        raise MfaVerificationFailed("Too many codes were tried; log in again.")
    account = throttle.account_key(user.email)
    user_actor = _as_user(actor, user)
    keyring = KeyRing.from_settings(settings)
    locked = await throttle.is_locked(cache, account)
    if locked or not await mfa.verify_second_factor(
        session, user_actor, user, code=code, keyring=keyring
    ):
        await _fail_mfa(
            session,
            user_actor,
            user,
            account=account,
            cache=cache,
            limiter=limiter,
            settings=settings,
        )
    await throttle.record_success(cache, account)
    pair = await complete_login(session, user_actor, user, cache=cache, settings=settings)
    await sessions.mark_mfa_verified(session, pair.session_id)
    return pair


async def _fail_mfa(
    session: AsyncSession,
    actor: Actor,
    user: User,
    *,
    account: str,
    cache: Cache,
    limiter: Limiter,
    settings: Settings,
) -> None:
    failure = await throttle.record_failure(cache, limiter, settings, account=account, ip=actor.ip)
    await audit_service.record(
        session,
        actor,
        "auth.mfa_failed",
        target=_target(user),
        context={"failures": failure.account_failures},
    )
    if failure.locked_now:
        await _announce_lock(session, actor, user, settings=settings)
    raise MfaVerificationFailed("That code is not valid; enter the current one from your app.")


async def _notice_new_device(
    session: AsyncSession, user: User, *, actor: Actor, settings: Settings
) -> None:
    """Mail the user when a login comes from a user agent none of their sessions had (not on
    the very first login: every device is new then)."""
    seen_before, same_device = await repository.known_devices(session, user.id, actor.user_agent)
    if not seen_before or same_device:
        return
    await notifications_service.send_email(
        session,
        to=user.email,
        template=NEW_SIGN_IN_TEMPLATE,
        context={
            "name": user.name,
            "device": (actor.user_agent or "an unknown device")[:200],
            "ip": actor.ip or "an unknown address",
            "when": clock.now().strftime("%Y-%m-%d %H:%M UTC"),
            "reset_url": f"{settings.http.public_url.rstrip('/')}/password/forgot",
        },
    )


async def unlock(session: AsyncSession, actor: Actor, *, token: str, cache: Cache) -> None:
    """The emailed unlock link: clears the lock and the failure count of its account."""
    user, _ = await action_tokens.consume(session, token, action_tokens.UNLOCK)
    await throttle.unlock(cache, throttle.account_key(user.email))
    await audit_service.record(
        session, _as_user(actor, user), "auth.account_unlocked", target=_target(user)
    )


async def refresh(
    session: AsyncSession, actor: Actor, refresh_token: str, *, cache: Cache, settings: Settings
) -> TokenPair:
    auth_session, new_token = await sessions.rotate(
        session, actor, refresh_token, cache=cache, settings=settings
    )
    return _pair(settings, auth_session.user_id, auth_session.id, new_token)


async def logout(session: AsyncSession, actor: Actor, *, cache: Cache) -> None:
    if actor.session_id is None:
        raise NotAuthenticated("Logging out needs the access token of a session.")
    await sessions.revoke(session, actor, actor.session_id, cache=cache, reason="logout")


def _pair(
    settings: Settings, user_id: uuid.UUID, session_id: uuid.UUID, refresh_token: str
) -> TokenPair:
    return TokenPair(
        access_token=tokens.issue_access_token(settings, user_id=user_id, session_id=session_id),
        refresh_token=refresh_token,
        expires_in=settings.auth.access_token_minutes * 60,
        session_id=session_id,
    )


async def _fail(
    session: AsyncSession,
    actor: Actor,
    *,
    email: str,
    account: str,
    locked: bool,
    cache: Cache,
    limiter: Limiter,
    settings: Settings,
) -> None:
    known = await users_service.get_by_email(session, email)
    failure = await throttle.record_failure(cache, limiter, settings, account=account, ip=actor.ip)
    await audit_service.record(
        session,
        actor,
        "auth.login_failed",
        target=_target(known) if known else None,
        context={"reason": _reason(known, locked=locked), "failures": failure.account_failures},
    )
    if failure.locked_now and known is not None:
        await _announce_lock(session, actor, known, settings=settings)
    raise InvalidCredentials(_REFUSAL)


def _reason(user: User | None, *, locked: bool) -> str:
    if user is None:
        return "unknown_email"
    if locked:
        return "account_locked"
    return "wrong_password" if user.status == ACTIVE else "account_disabled"


async def _announce_lock(
    session: AsyncSession, actor: Actor, user: User, *, settings: Settings
) -> None:
    await audit_service.record(
        session,
        actor,
        "auth.account_locked",
        target=_target(user),
        context={"minutes": settings.auth.lockout_minutes},
    )
    await events_service.publish(
        session, SecurityAlert(kind="account_locked", user_id=user.id, ip=actor.ip)
    )
    base = settings.http.public_url.rstrip("/")
    unlock_token = await action_tokens.issue(
        session, user.id, action_tokens.UNLOCK, timedelta(hours=UNLOCK_LINK_HOURS)
    )
    await notifications_service.send_email(
        session,
        to=user.email,
        template=ACCOUNT_LOCKED_TEMPLATE,
        context={
            "name": user.name,
            "minutes": settings.auth.lockout_minutes,
            "ip": actor.ip or "an unknown address",
            "reset_url": f"{base}/password/forgot",
            "unlock_url": f"{base}/unlock?token={unlock_token}",
        },
    )


def _as_user(actor: Actor, user: User) -> Actor:
    return Actor(
        kind="user",
        id=str(user.id),
        ip=actor.ip,
        user_agent=actor.user_agent,
        request_id=actor.request_id,
    )


def _target(user: User) -> Target:
    return Target("user", str(user.id))
