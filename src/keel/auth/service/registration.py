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
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.auth.errors import TokenExpired, TokenInvalid
from keel.auth.models import ActionToken
from keel.auth.service import sessions
from keel.config import Settings
from keel.kit import clock, security
from keel.kit.cache import Cache
from keel.kit.errors import RateLimited
from keel.notifications import service as notifications_service
from keel.users import service as users_service
from keel.users.errors import EmailTaken
from keel.users.models import ACTIVE, User

VERIFY_EMAIL, RESET_PASSWORD, CHANGE_EMAIL = "verify_email", "reset_password", "change_email"


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
    token = await _issue(session, user.id, VERIFY_EMAIL, timedelta(hours=hours))
    context = {"name": user.name, "link": _link(settings, "verify-email", token), "hours": hours}
    await notifications_service.send_email(
        session, to=user.email, template="verify_email", context=context
    )


async def verify_email(session: AsyncSession, actor: Actor, *, token: str) -> User:
    user, _ = await _consume(session, token, VERIFY_EMAIL)
    return await users_service.mark_email_verified(session, _as(actor, user), user)


async def resend_verification(
    session: AsyncSession, actor: Actor, *, email: str, settings: Settings, cache: Cache
) -> None:
    """Silently does nothing for unknown, verified or throttled accounts (see module doc)."""
    user = await users_service.get_by_email(session, email)
    if user is None or user.email_verified_at is not None or user.status != ACTIVE:
        return
    if await _over_account_limits(cache, "verify-resend", user.id):
        return
    await send_verification(session, user, settings=settings)


async def forgot_password(
    session: AsyncSession, actor: Actor, *, email: str, settings: Settings, cache: Cache
) -> None:
    """Emails a reset link to an active account; :class:`RateLimited` only for per-IP abuse."""
    await _enforce_ip_limit(cache, actor, FORGOT_IP_LIMIT, "password-forgot")
    user = await users_service.get_by_email(session, email)
    if user is None or user.status != ACTIVE:
        return
    if await _over_account_limits(cache, "password-forgot", user.id):
        return
    minutes = settings.auth.reset_minutes
    token = await _issue(session, user.id, RESET_PASSWORD, timedelta(minutes=minutes))
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
    user, _ = await _consume(session, token, RESET_PASSWORD)
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
    token = await _issue(
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
    user, data = await _consume(session, token, CHANGE_EMAIL)
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


# Rate limits. Fixed windows keyed by their slot number, so ``retry_after`` is exact.


async def _over_account_limits(cache: Cache, action: str, user_id: uuid.UUID) -> bool:
    for limit in ACCOUNT_LIMITS:
        count, _ = await _hit(cache, f"auth:{action}:user:{user_id}", limit)
        if count > limit.count:
            return True
    return False


async def _enforce_ip_limit(cache: Cache, actor: Actor, limit: Limit, action: str) -> None:
    if actor.ip is None:
        return
    count, retry_after = await _hit(cache, f"auth:{action}:ip:{actor.ip}", limit)
    if count > limit.count:
        raise RateLimited(
            f"Too many requests from your network; wait {retry_after} seconds and try again.",
            limit=limit.count,
            window=limit.seconds,
            retry_after=retry_after,
        )


async def _hit(cache: Cache, key: str, limit: Limit) -> tuple[int, int]:
    """Count one event; returns (events in this window, seconds until the window ends)."""
    now = int(clock.now().timestamp())
    slot, into = divmod(now, limit.seconds)
    count = await cache.incr(f"{key}:{limit.name}:{slot}", ttl=limit.seconds)
    return count, limit.seconds - into


# Action tokens. These queries belong in ``auth/repository.py``; they live here until the
# lead folds them in (that file was being edited in parallel).


async def _issue(
    session: AsyncSession,
    user_id: uuid.UUID,
    purpose: str,
    lifetime: timedelta,
    *,
    data: dict[str, Any] | None = None,
) -> str:
    now = clock.now()
    await session.execute(
        update(ActionToken)
        .where(
            ActionToken.user_id == user_id,
            ActionToken.purpose == purpose,
            ActionToken.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    token = security.new_token()
    session.add(
        ActionToken(
            user_id=user_id,
            purpose=purpose,
            token_hash=security.token_hash(token),
            data=data or {},
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    await session.flush()
    return token


async def _consume(session: AsyncSession, token: str, purpose: str) -> tuple[User, dict[str, Any]]:
    """Marks the token used and returns its user, or raises saying why it cannot be used."""
    now, digest = clock.now(), security.token_hash(token)
    claimed = (
        await session.execute(
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
    ).one_or_none()
    if claimed is None:
        raise await _why_unusable(session, digest, purpose)
    user = await users_service.get(session, claimed.user_id)
    if user is None:
        raise TokenInvalid("This link's account no longer exists.")
    return user, dict(claimed.data or {})


async def _why_unusable(session: AsyncSession, digest: str, purpose: str) -> TokenInvalid:
    row = await session.scalar(select(ActionToken).where(ActionToken.token_hash == digest))
    if row is not None and row.purpose == purpose and row.used_at is None:
        return TokenExpired("This link has expired; request a new one and use it sooner.")
    return TokenInvalid(
        "This link is not valid: it was already used or replaced by a newer one. "
        "Request a new link and use the most recent email."
    )
