"""The platform owner's actions on a person's account (the God dashboard): disable it, enable
it, reset its two-factor authentication, end all its sessions.

Only the ``staff`` actor of the platform-owner guards may call these (checked again here, see
``keel.access.service.ensure_staff``). Disabling ends the account's sessions at once, cached
"live" state included, so a browser or an API token of that user is refused at its very next
request; the account then cannot log in until it is enabled again. Each step is audited by
the service that does it (``user.disabled``, ``session.revoked``, ``mfa.reset`` ...).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.access.service import ensure_staff
from keel.auth.service import mfa, sessions
from keel.kit.cache import Cache
from keel.kit.errors import PermissionDenied
from keel.users import service as users_service
from keel.users.models import User

DISABLED_REASON = "account_disabled"
ENDED_REASON = "ended_by_platform"


async def disable_account(session: AsyncSession, actor: Actor, user: User, *, cache: Cache) -> int:
    """Returns how many sessions were ended."""
    ensure_staff(actor)
    await users_service.set_active(session, actor, user, active=False)
    ended = await sessions.revoke_all(session, actor, user.id, reason=DISABLED_REASON, cache=cache)
    return len(ended)


async def enable_account(session: AsyncSession, actor: Actor, user: User) -> User:
    ensure_staff(actor)
    return await users_service.set_active(session, actor, user, active=True)


async def reset_mfa(session: AsyncSession, actor: Actor, user: User) -> bool:
    """False when the user had no factor. Not on one's own account: the platform owner turns
    their MFA off through the normal flow, which asks for the password and a code."""
    ensure_staff(actor)
    if actor.user_id == user.id:
        raise PermissionDenied(
            "Reset your own two-factor authentication from your security settings instead."
        )
    return await mfa.reset(session, actor, user)


async def end_sessions(session: AsyncSession, actor: Actor, user: User, *, cache: Cache) -> int:
    """Sign the user out everywhere (browsers and API tokens); returns how many ended."""
    ensure_staff(actor)
    return len(await sessions.revoke_all(session, actor, user.id, reason=ENDED_REASON, cache=cache))
