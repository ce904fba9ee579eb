"""The pages reached from emails (verify, reset, unlock, invitation), composed from the auth and
organizations services: the same calls the API makes, plus what only a page needs — who is
looking at a link, and a failed attempt that must leave no trace when its form is shown again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.auth.service import registration
from keel.config import Settings
from keel.kit.cache import Cache
from keel.organizations.service import invitations, orgs
from keel.users.models import ACTIVE, User
from keel.web import rules, service


@dataclass(frozen=True, slots=True)
class Joined:
    org_id: uuid.UUID
    name: str


async def viewer(
    session: AsyncSession, state: rules.WebSession, origin: Actor, *, cache: Cache
) -> tuple[Actor, User] | None:
    """The signed-in person on a public page (None when anonymous, signed out elsewhere or
    disabled): the page then offers to log in instead of acting."""
    actor = await service.actor_for(session, state, origin, cache=cache)
    user = None if actor is None else await service.user_of(session, actor)
    if actor is None or user is None or user.status != ACTIVE:
        return None
    return actor, user


async def reset_password(
    session: AsyncSession,
    actor: Actor,
    *,
    token: str,
    password: str,
    settings: Settings,
    cache: Cache,
) -> User:
    """``registration.reset_password`` in a SAVEPOINT. The API relies on the request's
    rollback to keep the link usable after a refused password; a page that shows the form
    again answers normally, so the request commits, and without the savepoint the link's
    token would be spent by the refused attempt."""
    async with session.begin_nested():
        return await registration.reset_password(
            session, actor, token=token, password=password, settings=settings, cache=cache
        )


async def accept_invitation(
    session: AsyncSession, actor: Actor, user: User, *, token: str
) -> Joined:
    """``POST /api/v1/invitations/accept``'s calls; the organization's name is for the notice."""
    org = await invitations.accept(session, actor, user, token=token)
    organization = await orgs.get(session, org)
    return Joined(org_id=organization.id, name=organization.name)
