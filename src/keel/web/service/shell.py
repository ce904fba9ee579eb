"""What every signed-in page's frame shows: the organization switcher, the navigation the
caller may use, the unread notifications and the features switched on for them. Loaded once
per page in a fixed number of queries (the caller's organizations, the unread count; the
flags come from the near cache), whatever the page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access import service as access
from keel.access.schemas import OrgAccess
from keel.flags import service as flags_service
from keel.notifications import service as notifications_service
from keel.organizations.models import Organization
from keel.organizations.service import orgs
from keel.users.models import User

#: The permissions the navigation asks about: a link shows only to who may use its page.
NAV_PERMISSIONS = (
    "projects:read",
    "users:read",
    "team:read",
    "settings:read",
    "settings:update",
    "billing:read",
    "audit:read",
    "webhooks:read",
)


@dataclass(frozen=True, slots=True)
class Membership:
    id: uuid.UUID
    name: str
    role: str


@dataclass(frozen=True, slots=True)
class Beta:
    """A feature flag on for the caller that has a description: the dashboard announces it."""

    key: str
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class Shell:
    user: User
    #: The organization the page is about (None on a page of the user's own, e.g. settings,
    #: when they belong to none).
    organization: Organization | None
    #: Every organization of the user, for the switcher (name order).
    organizations: list[Membership]
    unread: int
    #: Of ``NAV_PERMISSIONS``, those the caller holds in ``organization``.
    can: frozenset[str] = frozenset()
    #: Feature flags on for the caller in ``organization`` (their keys).
    features: frozenset[str] = frozenset()
    #: The caller may open the God dashboard (superadmin; MFA is checked when they do).
    platform_owner: bool = False
    role: str | None = None
    #: Of ``features``, those with a description, in key order (``partials/beta_features``).
    betas: tuple[Beta, ...] = ()


async def for_org(session: AsyncSession, user: User, org: OrgAccess) -> Shell:
    mine = await _memberships(session, user)
    organization = mine.rows.get(org.org_id) or await orgs.get(session, org)
    evaluations = await flags_service.evaluate_all_for(session, org)
    features = frozenset(key for key, answer in evaluations.items() if answer.enabled)
    return Shell(
        user=user,
        organization=organization,
        organizations=mine.listed,
        unread=await notifications_service.unread_count(session, user.id),
        can=frozenset(p for p in NAV_PERMISSIONS if access.holds_somewhere(org, p)),
        features=features,
        platform_owner=user.is_superadmin,
        role=org.role,
        betas=await _betas(session, features),
    )


async def _betas(session: AsyncSession, features: frozenset[str]) -> tuple[Beta, ...]:
    """From the compiled flags the evaluation just read (the near cache: no query)."""
    flags = (await flags_service.current_flags(session)).flags
    described = (flags[key].definition for key in sorted(features) if key in flags)
    return tuple(Beta(f.key, f.name, f.description) for f in described if f.description)


async def for_user(session: AsyncSession, user: User) -> Shell:
    """A page of the user's own (settings, notifications): the switcher, no organization
    navigation beyond a link back to the first organization."""
    mine = await _memberships(session, user)
    first = next(iter(mine.rows.values()), None)
    return Shell(
        user=user,
        organization=first,
        organizations=mine.listed,
        unread=await notifications_service.unread_count(session, user.id),
        platform_owner=user.is_superadmin,
    )


@dataclass(frozen=True, slots=True)
class _Mine:
    rows: dict[uuid.UUID, Organization]
    listed: list[Membership]


async def _memberships(session: AsyncSession, user: User) -> _Mine:
    pairs = await orgs.list_mine(session, user.id)
    return _Mine(
        rows={organization.id: organization for organization, _role in pairs},
        listed=[
            Membership(o.id, o.name, role)
            for o, role in sorted(pairs, key=lambda p: p[0].name.lower())
        ],
    )
