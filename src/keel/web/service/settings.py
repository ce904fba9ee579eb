"""What the settings pages do: the caller's profile, password, two-factor, sessions, inbox and
email preferences, and an organization's API keys. Each function calls what the matching
``/api/v1/me...`` or ``/api/v1/orgs/{org_id}/api-keys`` endpoint calls, with the same
arguments, so the page and the API audit, publish and refuse alike."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access import service as access
from keel.access.rules import PERMISSIONS
from keel.access.schemas import Actor, OrgAccess
from keel.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    EmailChangeRequest,
    PasswordChangeRequest,
)
from keel.auth.service import api_keys, mfa, registration, sessions
from keel.auth.service.mfa import Enrollment
from keel.config import Settings
from keel.kit.cache import Cache
from keel.kit.errors import NotFound
from keel.kit.schemas import PageParams
from keel.kit.security import KeyRing
from keel.notifications import service as notifications_service
from keel.notifications.schemas import PreferencesRead, PreferencesWrite
from keel.users import service as users_service
from keel.users.models import User
from keel.web import rules

#: Notifications one inbox page lists.
INBOX_PAGE = 20
#: Mail that has no preference (``keel.notifications``: essential mail is always sent), as
#: the preferences page lists it: name, what it holds.
ESSENTIAL_MAIL = (
    ("Security", "New sign-ins, password and two-factor changes, locked accounts"),
    ("Account", "Confirming your email address, password reset links"),
    ("Invitations", "Invitations to join an organization"),
)


# ---- profile and password ----------------------------------------------------------------------


async def update_profile(session: AsyncSession, actor: Actor, user: User, *, name: str) -> User:
    return await users_service.update_profile(session, actor, user, name=name)


async def request_email_change(
    session: AsyncSession,
    actor: Actor,
    user: User,
    data: EmailChangeRequest,
    *,
    settings: Settings,
) -> None:
    """Nothing changes until the link emailed to the new address is followed."""
    await registration.request_email_change(
        session,
        actor,
        user,
        password=data.password,
        new_email=data.new_email,
        settings=settings,
    )


async def change_password(
    session: AsyncSession, actor: Actor, user: User, data: PasswordChangeRequest, *, cache: Cache
) -> int:
    """The API's ``POST /me/password``: with ``end_other_sessions`` every other session of the
    user ends, this one stays. Returns how many ended."""
    await users_service.change_password(
        session,
        actor,
        user,
        current_password=data.current_password,
        new_password=data.new_password,
    )
    if not data.end_other_sessions:
        return 0
    ended = await sessions.revoke_all(
        session, actor, user.id, reason="password_changed", cache=cache, keep=actor.session_id
    )
    return len(ended)


# ---- two-factor --------------------------------------------------------------------------------


async def mfa_enabled(session: AsyncSession, user: User) -> bool:
    return await mfa.is_enabled(session, user.id)


async def start_mfa(session: AsyncSession, actor: Actor, user: User, *, settings: Settings) -> None:
    await mfa.start_enrollment(session, actor, user, keyring=KeyRing.from_settings(settings))


async def pending_mfa(
    session: AsyncSession, user: User, *, settings: Settings
) -> Enrollment | None:
    return await mfa.pending_enrollment(session, user, keyring=KeyRing.from_settings(settings))


async def confirm_mfa(
    session: AsyncSession, actor: Actor, user: User, *, code: str, settings: Settings
) -> list[str]:
    """Turns two-factor on; the recovery codes returned exist in clear only now."""
    keyring = KeyRing.from_settings(settings)
    return await mfa.confirm_enrollment(session, actor, user, code=code, keyring=keyring)


async def regenerate_recovery_codes(
    session: AsyncSession, actor: Actor, user: User, *, code: str, settings: Settings
) -> list[str]:
    keyring = KeyRing.from_settings(settings)
    return await mfa.regenerate_recovery_codes(session, actor, user, code=code, keyring=keyring)


async def disable_mfa(
    session: AsyncSession,
    actor: Actor,
    user: User,
    *,
    password: str,
    code: str,
    settings: Settings,
) -> None:
    keyring = KeyRing.from_settings(settings)
    await mfa.disable(session, actor, user, password=password, code=code, keyring=keyring)


# ---- sessions ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: uuid.UUID
    device: str
    ip: str | None
    created_at: datetime
    last_seen_at: datetime
    current: bool


async def user_sessions(session: AsyncSession, actor: Actor, user: User) -> list[SessionRow]:
    """The user's live sessions, this browser's first, then the most recently seen."""
    rows = [
        SessionRow(
            id=s.id,
            device=device_of(s.user_agent),
            ip=s.ip,
            created_at=s.created_at,
            last_seen_at=s.last_seen_at,
            current=s.id == actor.session_id,
        )
        for s in await sessions.list_active(session, user.id)
    ]
    return sorted(rows, key=lambda row: (not row.current, -row.last_seen_at.timestamp()))


async def user_session(
    session: AsyncSession, actor: Actor, user: User, session_id: uuid.UUID
) -> SessionRow:
    """One of the user's live sessions; another user's, or an ended one, is not found."""
    for row in await user_sessions(session, actor, user):
        if row.id == session_id:
            return row
    raise NotFound("No such session among yours; it may have ended already.")


async def revoke_session(
    session: AsyncSession, actor: Actor, user: User, session_id: uuid.UUID, *, cache: Cache
) -> bool:
    """Ends one of the user's sessions (404 for anyone else's); True when it was this
    browser's own, which is then signed out."""
    await sessions.get_for_user(session, user.id, session_id)
    await sessions.revoke(session, actor, session_id, cache=cache, reason="revoked_by_user")
    return session_id == actor.session_id


async def revoke_other_sessions(
    session: AsyncSession, actor: Actor, user: User, *, cache: Cache
) -> int:
    ended = await sessions.revoke_all(
        session, actor, user.id, reason="revoked_by_user", cache=cache, keep=actor.session_id
    )
    return len(ended)


_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("python-httpx/", "Python (httpx)"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def device_of(user_agent: str | None) -> str:
    """A User-Agent header as people name their devices ("Firefox on Linux"): enough to
    recognise one's own sessions; an unknown client shows its product token."""
    if not user_agent:
        return "Unknown device"
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or re.split(r"[\s/]", user_agent.strip(), maxsplit=1)[0][:40]


# ---- notifications -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InboxItem:
    id: uuid.UUID
    title: str
    body: str
    #: A path of this site to open, or None (a link elsewhere is not followed from here).
    link: str | None
    read: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Inbox:
    items: list[InboxItem]
    next_cursor: str | None
    unread_count: int


async def inbox(
    session: AsyncSession,
    user: User,
    *,
    cursor: str | None,
    unread_only: bool,
    public_url: str,
) -> Inbox:
    """Newest first, as ``GET /api/v1/me/notifications`` pages it."""
    params = PageParams(limit=INBOX_PAGE, cursor=cursor or None)
    found = await notifications_service.page(session, user.id, params, unread_only=unread_only)
    items = [
        InboxItem(
            id=n.id,
            title=n.title,
            body=n.body,
            link=inbox_link(n.link, public_url),
            read=n.read_at is not None,
            created_at=n.created_at,
        )
        for n in found.items
    ]
    return Inbox(items=items, next_cursor=found.next_cursor, unread_count=found.unread_count)


def inbox_link(link: str | None, public_url: str) -> str | None:
    """Notifications carry absolute links to this site (emails share them); the inbox opens
    their path. Anything else (another site, ``javascript:``) is not made a link."""
    if not link:
        return None
    base = public_url.rstrip("/")
    if link.startswith(base + "/"):
        link = link[len(base) :]
    return rules.safe_next_path(link)


async def mark_read(session: AsyncSession, user: User, notification_id: uuid.UUID) -> None:
    await notifications_service.mark_read(session, user.id, notification_id)


async def mark_all_read(session: AsyncSession, user: User) -> int:
    return await notifications_service.mark_all_read(session, user.id)


async def unread_count(session: AsyncSession, user: User) -> int:
    return await notifications_service.unread_count(session, user.id)


async def preferences(session: AsyncSession, user: User) -> PreferencesRead:
    return await notifications_service.read_preferences(session, user.id)


async def update_preferences(
    session: AsyncSession, actor: Actor, user: User, data: PreferencesWrite
) -> PreferencesRead:
    return await notifications_service.update_preferences(session, actor, user.id, data.subscribed)


# ---- API keys ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiKeys:
    keys: list[ApiKeyRead]
    #: The permissions the caller may put on a key: those their own role holds.
    grantable: list[str]


async def api_keys_page(session: AsyncSession, org: OrgAccess) -> ApiKeys:
    keys = [api_keys.read(key) for key in await api_keys.list_keys(session, org)]
    return ApiKeys(keys=keys, grantable=grantable_permissions(org))


def grantable_permissions(org: OrgAccess) -> list[str]:
    """A key never holds more than its creator (``api_keys.create`` refuses more)."""
    return sorted(p for p in PERMISSIONS if access.holds_somewhere(org, p))


async def api_key(session: AsyncSession, org: OrgAccess, key_id: uuid.UUID) -> ApiKeyRead:
    for key in await api_keys.list_keys(session, org):
        if key.id == key_id:
            return api_keys.read(key)
    raise NotFound("No API key with this id in this organization; list them to find it.")


async def create_api_key(
    session: AsyncSession, org: OrgAccess, data: ApiKeyCreate
) -> ApiKeyCreated:
    """The key and its secret: the only time the secret exists in clear."""
    key, secret = await api_keys.create(session, org, data)
    return ApiKeyCreated(**api_keys.read(key).model_dump(), secret=secret)


async def revoke_api_key(
    session: AsyncSession, org: OrgAccess, key_id: uuid.UUID, *, cache: Cache
) -> None:
    await api_keys.revoke(session, org, key_id, cache=cache)
