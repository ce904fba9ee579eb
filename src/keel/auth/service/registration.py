"""Sign-up, email verification, password reset and email change: everything that proves
control of a mailbox with a link.

Each link carries a single-use action token (256 random bits) stored only as SHA-256 with
its purpose and expiry. Issuing a token voids the user's earlier unused ones of the same
purpose, so only the newest email works. Consuming is one conditional ``UPDATE``, so two
clicks racing on one link cannot both succeed.

No enumeration: ``resend`` and ``forgot`` do the same visible thing (202) for unknown,
verified, disabled and throttled accounts. Per-account limits are silent for that reason.
Per-IP abuse of ``forgot`` is refused with 429 ``rate_limited``: the limit is on the
caller's own address, so the refusal says nothing about any account.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.auth.service import action_tokens, sessions
from keel.auth.service.action_tokens import CHANGE_EMAIL, RESET_PASSWORD, VERIFY_EMAIL
from keel.config import Settings
from keel.kit.cache import Cache
from keel.kit.errors import RateLimited
from keel.kit.ratelimit import Limiter
from keel.notifications import service as notifications_service
from keel.users import service as users_service
from keel.users.errors import EmailTaken
from keel.users.models import ACTIVE, User


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``count`` events per fixed window of ``seconds`` (aligned to the clock)."""

    name: str
    count: int
    seconds: int


#: Per account, for both resend and forgot: enough for a user whose mail was slow.
ACCOUNT_LIMITS = (Limit("minute", 1, 60), Limit("day", 5, 86_400))
#: Per IP, for forgot: generous for an office behind one address, tight for a script.
FORGOT_IP_LIMIT = Limit("hour", 20, 3_600)


async def register(
    session: AsyncSession, actor: Actor, *, email: str, name: str, password: str, settings: Settings
) -> User:
    """Create the account (unverified) and email the verification link."""
    user = await users_service.create(
        session,
        actor,
        email=email,
        name=name,
        password=password,
        min_password_length=settings.auth.password_min_length,
    )
    await send_verification(session, user, settings=settings)
    return user


async def send_verification(session: AsyncSession, user: User, *, settings: Settings) -> None:
    hours = settings.auth.verification_hours
    token = await action_tokens.issue(session, user.id, VERIFY_EMAIL, timedelta(hours=hours))
    context = {"name": user.name, "link": _link(settings, "verify-email", token), "hours": hours}
    await notifications_service.send_email(
        session, to=user.email, template="verify_email", context=context
    )


async def verify_email(session: AsyncSession, actor: Actor, *, token: str) -> User:
    user, _ = await action_tokens.consume(session, token, VERIFY_EMAIL)
    return await users_service.mark_email_verified(session, _as(actor, user), user)


async def resend_verification(
    session: AsyncSession, actor: Actor, *, email: str, settings: Settings, limiter: Limiter
) -> None:
    """Silently does nothing for unknown, verified or throttled accounts (see module doc)."""
    user = await users_service.get_by_email(session, email)
    if user is None or user.email_verified_at is not None or user.status != ACTIVE:
        return
    if await _over_account_limits(limiter, "verify-resend", user.id):
        return
    await send_verification(session, user, settings=settings)
    await audit_service.record(session, actor, "user.verification_resent", target=_target(user))


async def forgot_password(
    session: AsyncSession, actor: Actor, *, email: str, settings: Settings, limiter: Limiter
) -> None:
    """Emails a reset link to an active account; :class:`RateLimited` only for per-IP abuse."""
    await _enforce_ip_limit(limiter, actor, FORGOT_IP_LIMIT, "password-forgot")
    user = await users_service.get_by_email(session, email)
    if user is None or user.status != ACTIVE:
        return
    if await _over_account_limits(limiter, "password-forgot", user.id):
        return
    minutes = settings.auth.reset_minutes
    token = await action_tokens.issue(session, user.id, RESET_PASSWORD, timedelta(minutes=minutes))
    context = {
        "name": user.name,
        "link": _link(settings, "reset-password", token),
        "minutes": minutes,
    }
    await notifications_service.send_email(
        session, to=user.email, template="reset_password", context=context
    )
    await audit_service.record(
        session, actor, "user.password_reset_requested", target=_target(user)
    )


async def reset_password(
    session: AsyncSession,
    actor: Actor,
    *,
    token: str,
    password: str,
    settings: Settings,
    cache: Cache,
) -> User:
    """Sets the password and ends every session of the user. A weak password raises before
    anything is committed, so the link still works for a second try. The click proves
    control of the mailbox, so the address counts as verified too."""
    user, _ = await action_tokens.consume(session, token, RESET_PASSWORD)
    acting = _as(actor, user)
    await users_service.set_password(
        session,
        acting,
        user,
        new_password=password,
        min_password_length=settings.auth.password_min_length,
    )
    await users_service.mark_email_verified(session, acting, user)
    await sessions.revoke_all(session, acting, user.id, reason="password_reset", cache=cache)
    return user


async def request_email_change(
    session: AsyncSession,
    actor: Actor,
    user: User,
    *,
    password: str,
    new_email: str,
    settings: Settings,
) -> None:
    """Needs the password; the change applies only when the link sent to the NEW address is
    followed (:func:`confirm_email_change`), so nobody can move an account to a mailbox they
    do not read."""
    await users_service.require_password(user, password)
    address = users_service.valid_email(new_email, field="new_email")
    if await users_service.get_by_email(session, address) is not None:
        raise EmailTaken(f"Another account already uses {address}.")
    hours = settings.auth.verification_hours
    token = await action_tokens.issue(
        session, user.id, CHANGE_EMAIL, timedelta(hours=hours), data={"new_email": address}
    )
    context = {
        "name": user.name,
        "new_email": address,
        "link": _link(settings, "confirm-email", token),
        "hours": hours,
    }
    await notifications_service.send_email(
        session, to=address, template="email_change", context=context
    )
    await audit_service.record(
        session,
        actor,
        "user.email_change_requested",
        target=_target(user),
        context={"new_email": address},
    )


async def confirm_email_change(session: AsyncSession, actor: Actor, *, token: str) -> User:
    user, data = await action_tokens.consume(session, token, CHANGE_EMAIL)
    return await users_service.change_email(
        session, _as(actor, user), user, new_email=str(data["new_email"])
    )


def _as(actor: Actor, user: User) -> Actor:
    """Following a link proves the request comes from the account's owner."""
    return dataclasses.replace(actor, kind="user", id=str(user.id))


def _target(user: User) -> Target:
    return Target("user", str(user.id))


def _link(settings: Settings, page: str, token: str) -> str:
    return f"{settings.http.public_url.rstrip('/')}/{page}?{urlencode({'token': token})}"


# Rate limits: fixed windows aligned to the clock (keel.kit.ratelimit), so ``retry_after`` is
# exact.


async def _over_account_limits(limiter: Limiter, action: str, user_id: uuid.UUID) -> bool:
    for limit in ACCOUNT_LIMITS:
        key = f"auth:{action}:user:{user_id}:{limit.name}"
        result = await limiter.decide(key, limit=limit.count, window_seconds=limit.seconds)
        if not result.allowed:
            return True
    return False


async def _enforce_ip_limit(limiter: Limiter, actor: Actor, limit: Limit, action: str) -> None:
    if actor.ip is None:
        return
    key = f"auth:{action}:ip:{actor.ip}:{limit.name}"
    result = await limiter.decide(key, limit=limit.count, window_seconds=limit.seconds)
    if not result.allowed:
        raise RateLimited(
            f"Too many requests from your network; wait {result.retry_after} s and try again.",
            headers=result.headers,
            limit=limit.count,
            window=limit.seconds,
            retry_after=result.retry_after,
        )
