"""The users domain's API: accounts, their passwords and profile.

Every change is audited (``user.*``) and the lifecycle ones are published as events in the
caller's transaction. Passwords are NFKC-normalized before hashing and verifying, so a
password set here always matches at login. Ending sessions after a password change or an
erasure request is the caller's decision (the auth domain sits above this one).
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit import rules as audit_rules
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.config import get_settings
from keel.events import service as events_service
from keel.kit import clock, near_cache, security
from keel.kit.db import unique_or_raise
from keel.kit.errors import PermissionDenied
from keel.kit.repository import Window
from keel.kit.schemas import PageParams
from keel.users import repository, rules
from keel.users.errors import (
    EmailTaken,
    IncorrectPassword,
    InvalidEmailAddress,
    InvalidName,
    WeakPassword,
)
from keel.users.events import (
    PasswordChanged,
    UserCreated,
    UserEmailVerified,
    UserErasureRequested,
    UserOnboardingCompleted,
    UserUpdated,
)
from keel.users.models import ACTIVE, DISABLED, User

#: The most a search box may hold: an email address is at most 320 characters.
MAX_SEARCH_LENGTH = 320


def user_tag(user_id: uuid.UUID) -> str:
    """The near-cache tag of everything derived from the user's row."""
    return f"user:{user_id}"


# Verifying against this when the email is unknown keeps "no such user" as slow as
# "wrong password", so timing does not reveal which accounts exist.
_DUMMY_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$Ty491yMmzVo814Jv9mpbgg$"
    "V83LCKOSgwfF5Vva88bFKm1SsL0OnhHmDtfObsA5MSQ"
)


async def create(
    session: AsyncSession,
    actor: Actor,
    *,
    email: str,
    name: str,
    password: str,
    min_password_length: int | None = None,
) -> User:
    """``min_password_length`` defaults to ``KEEL_AUTH__PASSWORD_MIN_LENGTH``."""
    address, display_name = valid_email(email), _valid_name(name)
    password = acceptable_password(
        password, email=address, name=display_name, min_length=min_password_length
    )
    if await repository.get_by_email(session, address) is not None:
        raise EmailTaken(f"An account with {address} already exists; log in instead.")
    user = User(
        email=address, name=display_name, password_hash=await security.hash_password(password)
    )
    await _insert(session, user)
    await audit_service.record(
        session, actor, "user.created", target=_target(user), changes={"email": address}
    )
    await events_service.publish(
        session, UserCreated(user_id=user.id, email=address, display_name=display_name)
    )
    return user


async def get(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await repository.get(session, user_id)


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    try:
        normalized = rules.normalize_email(email)
    except rules.InvalidEmail:
        return None
    return await repository.get_by_email(session, normalized)


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User | None:
    """The active user with this email and password, else None (same cost either way)."""
    user = await get_by_email(session, email)
    password = rules.normalize_password(password)
    if user is None or user.password_hash is None:
        await security.verify_password(_DUMMY_HASH, password)
        return None
    if not await security.verify_password(user.password_hash, password):
        return None
    if security.password_needs_rehash(user.password_hash):
        user.password_hash = await security.hash_password(password)
    return user if user.status == ACTIVE else None


async def update_profile(
    session: AsyncSession,
    actor: Actor,
    user: User,
    *,
    name: str | None = None,
    attributes: dict[str, Any] | None = None,
) -> User:
    """``attributes``, when given, replaces the whole dict. Which attributes a user may edit
    on their own account is the endpoint's policy, not this function's."""
    before = {"name": user.name, "attributes": user.attributes}
    if name is not None:
        user.name = _valid_name(name)
    if attributes is not None:
        user.attributes = dict(attributes)
    changes = audit_rules.diff(before, {"name": user.name, "attributes": user.attributes})
    if changes:
        await _record_update(session, actor, user, "user.updated", changes)
    return user


async def change_password(
    session: AsyncSession,
    actor: Actor,
    user: User,
    *,
    current_password: str,
    new_password: str,
    min_password_length: int | None = None,
) -> None:
    """Needs the current password. Other sessions are left alone: the caller offers to end
    them (``auth.service.sessions.revoke_all(..., keep=<this session>)``)."""
    await require_password(user, current_password)
    normalized = acceptable_password(
        new_password,
        email=user.email,
        name=user.name,
        min_length=min_password_length,
        field="new_password",
    )
    await _store_password(session, actor, user, normalized, reason="changed")


async def set_password(
    session: AsyncSession,
    actor: Actor,
    user: User,
    *,
    new_password: str,
    min_password_length: int | None = None,
) -> None:
    """Without the current password: only after the owner proved control of the mailbox
    (a reset link). Audited as ``user.password_reset``."""
    normalized = acceptable_password(
        new_password, email=user.email, name=user.name, min_length=min_password_length
    )
    await _store_password(session, actor, user, normalized, reason="reset")


async def mark_email_verified(session: AsyncSession, actor: Actor, user: User) -> User:
    """Idempotent: verifying an already verified address changes nothing and records nothing."""
    if user.email_verified_at is not None:
        return user
    user.email_verified_at = clock.now()
    await audit_service.record(session, actor, "user.email_verified", target=_target(user))
    await events_service.publish(session, UserEmailVerified(user_id=user.id))
    return user


async def change_email(session: AsyncSession, actor: Actor, user: User, *, new_email: str) -> User:
    """Applies a change the owner already confirmed from the new mailbox, so the new
    address counts as verified."""
    address = valid_email(new_email, field="new_email")
    if address == user.email:
        return user
    if await repository.get_by_email(session, address) is not None:
        raise EmailTaken(f"Another account already uses {address}; choose another address.")
    before = user.email
    user.email, user.email_verified_at = address, clock.now()
    taken = EmailTaken("Another account already uses this address; choose another.")
    async with unique_or_raise(session, taken):  # a concurrent change that passed the lookup
        await session.flush()
    changes = {"email": {"before": before, "after": address}}
    await _record_update(session, actor, user, "user.email_changed", changes)
    return user


async def request_erasure(
    session: AsyncSession, actor: Actor, user: User, *, password: str
) -> User:
    """Disables the account at once and records the request; the erasure itself is a later
    job. The caller ends the user's sessions."""
    await require_password(user, password)
    user.status, user.erasure_requested_at = DISABLED, clock.now()
    await audit_service.record(session, actor, "user.erasure_requested", target=_target(user))
    await events_service.publish(session, UserErasureRequested(user_id=user.id))
    return user


async def make_superadmin(
    session: AsyncSession, actor: Actor, *, email: str, name: str, password: str
) -> tuple[User, bool]:
    """The platform owner (``keel create-superadmin``): a new verified account, or an
    existing one promoted (its password untouched). Returns the user and whether it was
    created."""
    existing = await get_by_email(session, email)
    if existing is None:
        user = await create(session, actor, email=email, name=name, password=password)
        await mark_email_verified(session, actor, user)
    else:
        user = existing
    if not user.is_superadmin:
        user.is_superadmin = True
        await _record_update(
            session, actor, user, "user.superadmin_granted", {"is_superadmin": True}
        )
    return user, existing is None


async def active_superadmins(session: AsyncSession) -> list[User]:
    """Who platform alerts go to."""
    return await repository.active_superadmins(session)


async def search(session: AsyncSession, *, query: str, page: PageParams) -> Window[User]:
    """Accounts whose email or name contains ``query``, newest first (the God dashboard)."""
    return await repository.UserDirectory(session).search(query[:MAX_SEARCH_LENGTH], page)


async def count(session: AsyncSession) -> int:
    return await repository.UserDirectory(session).count()


async def newest(session: AsyncSession, *, limit: int = 10) -> list[User]:
    return await repository.UserDirectory(session).newest(limit)


async def set_active(session: AsyncSession, actor: Actor, user: User, *, active: bool) -> User:
    """Disable the account (it can no longer log in; its sessions stop at their next request)
    or enable it again. The same state again changes nothing and records nothing. Audited as
    ``user.disabled`` / ``user.enabled``; ending the sessions at once is the caller's (auth).
    Nobody disables their own account here: the platform owner would lock themselves out."""
    status = ACTIVE if active else DISABLED
    if user.status == status:
        return user
    if not active and actor.user_id == user.id:
        raise PermissionDenied("You cannot disable your own account.")
    changes = {"status": {"before": user.status, "after": status}}
    user.status = status
    await session.flush()
    action = "user.enabled" if active else "user.disabled"
    await _record_update(session, actor, user, action, changes)
    return user


async def update_onboarding(
    session: AsyncSession,
    actor: Actor,
    user: User,
    *,
    step: str | None,
    state: rules.StepState = rules.DONE,
) -> User:
    """Mark ``step`` done or skipped (``step=None``: skip every step not done). The change
    that leaves no step open completes onboarding, once: ``user.onboarding_completed``."""
    before = dict(user.onboarding_steps or {})
    after = rules.onboarding_steps_after(before, step=step, state=state)
    if after == before:
        return user
    user.onboarding_steps = after
    changes = audit_rules.diff({"onboarding_steps": before}, {"onboarding_steps": after})
    await _record_update(session, actor, user, "user.onboarding_updated", changes)
    if user.onboarding_completed_at is None and rules.onboarding_complete(after):
        user.onboarding_completed_at = clock.now()
        skipped = sorted(name for name, value in after.items() if value == rules.SKIPPED)
        await audit_service.record(
            session, actor, "user.onboarding_completed", target=_target(user)
        )
        await events_service.publish(
            session, UserOnboardingCompleted(user_id=user.id, skipped=skipped)
        )
    return user


def valid_email(email: str, *, field: str = "email") -> str:
    """The normalized address, or :class:`InvalidEmailAddress` naming ``field``."""
    try:
        return rules.normalize_email(email)
    except rules.InvalidEmail as exc:
        raise InvalidEmailAddress(str(exc), field=field) from None


def acceptable_password(
    password: str,
    *,
    email: str | None,
    name: str | None,
    min_length: int | None = None,
    field: str = "password",
) -> str:
    """The normalized password, or :class:`WeakPassword` listing every violation."""
    normalized = rules.normalize_password(password)
    violations = rules.password_violations(
        normalized,
        min_length=min_length or get_settings().auth.password_min_length,
        email=email,
        name=name,
        field=field,
    )
    if violations:
        raise WeakPassword(violations)
    return normalized


def _valid_name(name: str) -> str:
    stripped = name.strip()
    if not stripped:
        raise InvalidName()
    return stripped


def _target(user: User) -> Target:
    return Target("user", str(user.id))


async def _insert(session: AsyncSession, user: User) -> None:
    """The unique index is the real guard: a concurrent sign-up with the same address that
    slipped past the lookup fails here, in a savepoint, as ``EmailTaken``."""
    taken = EmailTaken(f"An account with {user.email} already exists; log in instead.")
    async with unique_or_raise(session, taken):
        await repository.add(session, user)


async def require_password(user: User, password: str) -> None:
    """:class:`IncorrectPassword` unless ``password`` is the user's: the confirmation that
    guards changes of email, password and erasure."""
    normalized = rules.normalize_password(password)
    if user.password_hash is None or not await security.verify_password(
        user.password_hash, normalized
    ):
        raise IncorrectPassword("The current password is not correct; enter it again.")


async def _store_password(
    session: AsyncSession,
    actor: Actor,
    user: User,
    password: str,
    *,
    reason: Literal["changed", "reset"],
) -> None:
    user.password_hash = await security.hash_password(password)
    await audit_service.record(session, actor, f"user.password_{reason}", target=_target(user))
    await events_service.publish(session, PasswordChanged(user_id=user.id, reason=reason))


async def _record_update(
    session: AsyncSession, actor: Actor, user: User, action: str, changes: dict[str, Any]
) -> None:
    await audit_service.record(session, actor, action, target=_target(user), changes=changes)
    await events_service.publish(session, UserUpdated(user_id=user.id, fields=sorted(changes)))


#: Anything cached about a user (their sessions' state, their standing in organizations) is
#: tagged ``user:<id>``: any change to the row drops it (status, superadmin flag, attributes).
near_cache.watch(User, lambda user: (user_tag(user.id),))
