"""Which non-essential email categories a user receives. Essential mail (security, account,
invitations) has no preference: it is always sent. Every change is audited and announced
(``email_preferences.updated``), whether made on the preferences page or by an unsubscribe
link, so there is a record of when someone opted out."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.config import Settings
from keel.events import service as events_service
from keel.kit import clock
from keel.notifications import repository, rules
from keel.notifications.errors import InvalidUnsubscribeLink
from keel.notifications.events import EmailPreferencesUpdated
from keel.notifications.schemas import (
    Category,
    CategoryPreference,
    PreferencesRead,
    UnsubscribeResult,
)
from keel.notifications.service.mail import unsubscribe_key


async def read(session: AsyncSession, user_id: uuid.UUID) -> PreferencesRead:
    off = await repository.unsubscribed(session, user_id)
    return PreferencesRead(
        categories=[
            CategoryPreference(category=name, description=text, subscribed=name not in off)
            for name, text in rules.CATEGORIES.items()
        ]
    )


async def update(
    session: AsyncSession,
    actor: Actor,
    user_id: uuid.UUID,
    subscribed: Mapping[Category, bool] | Mapping[str, bool],
) -> PreferencesRead:
    before = await repository.unsubscribed(session, user_id)
    changed = {c: on for c, on in subscribed.items() if (c not in before) != on}
    if changed:
        await _apply(session, actor, user_id, changed)
    return await read(session, user_id)


async def unsubscribe(
    session: AsyncSession, actor: Actor, token: str, *, settings: Settings
) -> UnsubscribeResult:
    """The emailed link (RFC 8058 one-click): the signed token is the credential. Idempotent:
    a second click changes nothing and answers the same."""
    try:
        user_id, category = rules.read_unsubscribe_token(token, key=unsubscribe_key(settings))
    except rules.UnsubscribeTokenInvalid:
        raise InvalidUnsubscribeLink(
            "This unsubscribe link is not valid; turn the emails off in your notification "
            "preferences instead."
        ) from None
    if category not in await repository.unsubscribed(session, user_id):
        as_user = Actor(
            kind="user", id=str(user_id), ip=actor.ip, user_agent=actor.user_agent,
            request_id=actor.request_id,
        )  # fmt: skip
        await _apply(session, as_user, user_id, {category: False}, via="link")
    return UnsubscribeResult(category=category)


async def _apply(
    session: AsyncSession,
    actor: Actor,
    user_id: uuid.UUID,
    changed: dict[str, bool],
    *,
    via: str = "preferences",
) -> None:
    now = clock.now()
    await repository.unsubscribe(
        session, user_id, [c for c, on in changed.items() if not on], now=now
    )
    await repository.resubscribe(session, user_id, [c for c, on in changed.items() if on])
    await audit_service.record(
        session,
        actor,
        "email_preferences.updated",
        target=Target("user", str(user_id)),
        changes={"subscribed": changed},
        context={"via": via},
    )
    await events_service.publish(
        session, EmailPreferencesUpdated(user_id=user_id, subscribed=changed)
    )
