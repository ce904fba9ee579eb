"""What the God dashboard's pages show and do, composed from the domains' services: the same
calls the admin API makes (flags, plans, an organization's plan), and the platform owner's
services of organizations and auth for what the API does not expose (search, suspension,
account actions). The web writes no row itself.

Every function takes the ``staff`` actor ``WebPlatformOwner`` made; the domain services check
it again (``keel.access.service.ensure_staff``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor, OrgAccess
from keel.access.service import ensure_staff
from keel.auth.service import mfa, sessions
from keel.auth.service import platform as accounts
from keel.events import service as events_service
from keel.events.schemas import EventEnvelope
from keel.flags import service as flags_service
from keel.flags.schemas import FlagCreate, FlagRead, FlagUpdate, FlagVersionRead
from keel.kit.cache import Cache
from keel.kit.deps import Resources
from keel.kit.errors import NotFound
from keel.kit.jobs import repository as jobs_repository
from keel.kit.jobs.models import DEAD, Job
from keel.kit.metrics import HTTP_REQUESTS
from keel.kit.repository import Window
from keel.kit.schemas import PageParams
from keel.observability import service as observability_service
from keel.observability.schemas import ReadinessReport
from keel.organizations.models import Organization
from keel.organizations.service import access as org_access
from keel.organizations.service import members, orgs
from keel.organizations.service import platform as org_platform
from keel.plans import rules as plans_rules
from keel.plans import service as plans_service
from keel.plans.schemas import LimitUsage, OrganizationPlan, PlanRead, PlanUpdate
from keel.users import service as users_service
from keel.users.models import User

#: Rows per page of the organizations and users lists.
PAGE_SIZE = 25
#: Flags are few (tens): one page shows them all up to this many, then a pager.
FLAGS_PAGE_SIZE = 100
HISTORY_PAGE_SIZE = 20
RECENT_SIGNUPS = 8
DEAD_JOBS_SHOWN = 10
RECENT_ERRORS = 10
ERROR_DETECTED = "error.detected"


# ---- overview ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Overview:
    organizations: int
    users: int
    signups: list[User]
    queue: dict[str, int]


async def overview(session: AsyncSession, actor: Actor) -> Overview:
    ensure_staff(actor)
    return Overview(
        organizations=await org_platform.count(session, actor),
        users=await users_service.count(session),
        signups=await users_service.newest(session, limit=RECENT_SIGNUPS),
        queue=await jobs_repository.count_by_status(session),
    )


# ---- organizations ----------------------------------------------------------------------------


async def organizations(
    session: AsyncSession, actor: Actor, *, query: str, cursor: str | None
) -> Window[org_platform.Listed]:
    page = PageParams(limit=PAGE_SIZE, cursor=cursor)
    return await org_platform.search(session, actor, query=query, page=page)


async def open_organization(
    session: AsyncSession, actor: Actor, org_id: uuid.UUID, *, writes: bool = False
) -> OrgAccess:
    """The platform owner's access to any organization, as ``staff``: a write through it is
    audited as a superadmin override of tenancy too. An unknown id is the 404 page."""
    ensure_staff(actor)
    return await org_access.open_org(session, actor, org_id, writes=writes)


@dataclass(frozen=True, slots=True)
class UsageLine:
    label: str
    #: In the limit's unit (GiB for storage); None when not metered.
    used: float | None
    #: -1: unlimited.
    limit: int
    percent: float | None


@dataclass(frozen=True, slots=True)
class OrganizationDetail:
    organization: Organization
    members: int
    plan: OrganizationPlan
    #: Each limit as people read it ("projects") with its usage.
    usage: list[UsageLine]
    #: Every plan of the catalog as (key, name): the plan select's options.
    plans: list[tuple[str, str]]


async def organization_detail(session: AsyncSession, org: OrgAccess) -> OrganizationDetail:
    catalog = await plans_service.plan_catalog(session)
    plan = await plans_service.organization_plan(session, org)
    return OrganizationDetail(
        organization=await orgs.get(session, org),
        members=await members.count(session, org),
        plan=plan,
        usage=[_usage_line(name, usage) for name, usage in plan.usage.items()],
        plans=[(key, terms.name) for key, terms in catalog.items()],
    )


def _usage_line(name: str, usage: LimitUsage) -> UsageLine:
    unit = plans_rules.UNIT.get(name, 1)
    used = None if usage.used is None else round(usage.used / unit, 2)
    label = plans_service.limit_label(name)
    return UsageLine(label=label, used=used, limit=usage.limit, percent=usage.percent)


async def change_plan(session: AsyncSession, org: OrgAccess, plan: str) -> Organization:
    """``PUT /api/v1/admin/orgs/{org_id}/plan``'s call."""
    return await orgs.change_plan(session, org, plan)


async def set_suspended(
    session: AsyncSession, org: OrgAccess, *, suspended: bool, reason: str | None
) -> Organization:
    return await org_platform.set_suspended(session, org, suspended=suspended, reason=reason)


# ---- users ------------------------------------------------------------------------------------


async def users(
    session: AsyncSession, actor: Actor, *, query: str, cursor: str | None
) -> Window[User]:
    ensure_staff(actor)
    page = PageParams(limit=PAGE_SIZE, cursor=cursor)
    return await users_service.search(session, query=query, page=page)


@dataclass(frozen=True, slots=True)
class UserDetail:
    user: User
    mfa_enabled: bool
    organizations: list[tuple[Organization, str]]
    live_sessions: int


async def find_user(session: AsyncSession, actor: Actor, user_id: uuid.UUID) -> User:
    ensure_staff(actor)
    user = await users_service.get(session, user_id)
    if user is None:
        raise NotFound("No account has this id; search for it on the users page.")
    return user


async def user_detail(session: AsyncSession, actor: Actor, user_id: uuid.UUID) -> UserDetail:
    user = await find_user(session, actor, user_id)
    return UserDetail(
        user=user,
        mfa_enabled=await mfa.is_enabled(session, user.id),
        organizations=await org_platform.of_user(session, actor, user.id),
        live_sessions=len(await sessions.list_active(session, user.id)),
    )


#: The account actions of a user's page: what each says and does.
USER_ACTIONS = ("disable", "enable", "reset-mfa", "end-sessions")


async def act_on_user(
    session: AsyncSession, actor: Actor, user_id: uuid.UUID, action: str, *, cache: Cache
) -> str:
    """Run one of :data:`USER_ACTIONS`; returns the notice for the next page."""
    user = await find_user(session, actor, user_id)
    if action == "disable":
        ended = await accounts.disable_account(session, actor, user, cache=cache)
        return f"{user.email} is disabled; {ended} session(s) ended."
    if action == "enable":
        await accounts.enable_account(session, actor, user)
        return f"{user.email} is enabled again."
    if action == "reset-mfa":
        removed = await accounts.reset_mfa(session, actor, user)
        return f"Two-factor authentication of {user.email} {'reset' if removed else 'was off'}."
    if action == "end-sessions":
        ended = await accounts.end_sessions(session, actor, user, cache=cache)
        return f"{ended} session(s) of {user.email} ended."
    raise NotFound(f"There is no account action {action!r}.")


# ---- flags ------------------------------------------------------------------------------------


async def flags(session: AsyncSession, actor: Actor, *, cursor: str | None) -> Window[FlagRead]:
    ensure_staff(actor)
    page = PageParams(limit=FLAGS_PAGE_SIZE, cursor=cursor)
    window = await flags_service.list_flags(session, page)
    return Window(items=[FlagRead.of(f) for f in window.items], next_cursor=window.next_cursor)


async def flag(session: AsyncSession, actor: Actor, key: str) -> FlagRead:
    ensure_staff(actor)
    return FlagRead.of(await flags_service.get_flag(session, key))


@dataclass(frozen=True, slots=True)
class History:
    versions: Window[FlagVersionRead]
    #: Who made the changes on this page: user id -> email (an account since erased: absent).
    authors: dict[uuid.UUID, str]


async def flag_history(
    session: AsyncSession, actor: Actor, key: str, *, cursor: str | None
) -> History:
    ensure_staff(actor)
    window = await flags_service.history(
        session, key, PageParams(limit=HISTORY_PAGE_SIZE, cursor=cursor)
    )
    items = [FlagVersionRead.of(row) for row in window.items]
    authors: dict[uuid.UUID, str] = {}
    for author_id in {item.changed_by for item in items if item.changed_by is not None}:
        author = await users_service.get(session, author_id)
        if author is not None:
            authors[author_id] = author.email
    return History(Window(items=items, next_cursor=window.next_cursor), authors)


async def create_flag(session: AsyncSession, actor: Actor, data: FlagCreate) -> FlagRead:
    return FlagRead.of(await flags_service.create_flag(session, actor, data))


async def toggle_flag(session: AsyncSession, actor: Actor, key: str, *, enabled: bool) -> FlagRead:
    return FlagRead.of(await flags_service.set_enabled(session, actor, key, enabled=enabled))


async def update_flag(session: AsyncSession, actor: Actor, key: str, data: FlagUpdate) -> FlagRead:
    return FlagRead.of(await flags_service.update_flag(session, actor, key, data))


async def rollback_flag(session: AsyncSession, actor: Actor, key: str, version: int) -> FlagRead:
    return FlagRead.of(await flags_service.rollback(session, actor, key, version=version))


async def delete_flag(session: AsyncSession, actor: Actor, key: str) -> None:
    await flags_service.delete_flag(session, actor, key)


def targeting_text(targeting: Mapping[str, Any]) -> str:
    """A flag's targeting as the editor shows it: indented JSON, keys in the schema's order."""
    return json.dumps(targeting, indent=2, ensure_ascii=False)


# ---- plans ------------------------------------------------------------------------------------


async def plans(session: AsyncSession, actor: Actor) -> list[PlanRead]:
    """Every plan, hidden ones included (``GET /api/v1/admin/plans``)."""
    ensure_staff(actor)
    return [
        await plans_service.plan_read(session, key)
        for key in await plans_service.plan_catalog(session)
    ]


async def plan(session: AsyncSession, actor: Actor, key: str) -> PlanRead:
    ensure_staff(actor)
    return await plans_service.plan_read(session, key)


async def update_plan(session: AsyncSession, actor: Actor, key: str, data: PlanUpdate) -> PlanRead:
    """``PATCH /api/v1/admin/plans/{plan_key}``'s call."""
    return await plans_service.update_plan(session, actor, key, data)


@dataclass(frozen=True, slots=True)
class FeatureField:
    name: str
    label: str
    kind: str


def feature_fields() -> list[FeatureField]:
    """The plan form's feature inputs, one per feature the catalog knows, by kind."""
    return [
        FeatureField(name, plans_rules.LABELS.get(name, name), kind)
        for name, kind in plans_rules.FEATURES.items()
    ]


def rate_limit_groups() -> tuple[str, ...]:
    return tuple(plans_rules.RATE_LIMIT_GROUPS)


@dataclass(frozen=True, slots=True)
class PlanForm:
    """A posted plan form read into ``PlanUpdate``'s shape, with the errors the plans rules
    found per field (``feature.max_users``) before the schema sees it."""

    body: dict[str, Any]
    errors: dict[str, str]


def read_plan_form(form: Mapping[str, str]) -> PlanForm:
    features, errors = _features_of(form)
    rate_limits, rate_errors = _rate_limits_of(form)
    body: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "description": form.get("description", "").strip() or None,
        "price_monthly_cents": _integer_or_text(form.get("price_monthly_cents", "")),
        "price_annual_cents": _integer_or_text(form.get("price_annual_cents", "")),
        "public": form.get("public") == "on",
        "features": features,
        "rate_limits": rate_limits,
    }
    return PlanForm(body=body, errors=errors | rate_errors)


def _features_of(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    features: dict[str, Any] = {}
    for field in feature_fields():
        raw = form.get(f"feature.{field.name}", "")
        if field.kind == "boolean":
            features[field.name] = raw == "on"
        elif field.kind == "number":
            features[field.name] = _integer_or_text(raw)
        else:
            features[field.name] = raw.strip()
    problems = plans_rules.check_features(features, complete=False)
    return features, {f"feature.{name}": problem for name, problem in problems}


def _rate_limits_of(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Each group's limit and window; both blank means no limit (``null``)."""
    limits: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for group in rate_limit_groups():
        limit = form.get(f"rate.{group}.limit", "").strip()
        window = form.get(f"rate.{group}.window_seconds", "").strip()
        if not limit and not window:
            limits[group] = None
        elif not (limit.isdigit() and window.isdigit()):
            errors[f"rate.{group}"] = "give both as whole numbers, or leave both blank for no limit"
        else:
            limits[group] = {"limit": int(limit), "window_seconds": int(window)}
    return limits, errors


def _integer_or_text(raw: str) -> int | str:
    """A whole number when the text is one, else the text, which the schema then refuses
    with its own message."""
    text = raw.strip()
    try:
        return int(text)
    except ValueError:
        return text


# ---- health -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErrorRate:
    requests: int
    errors: int

    @property
    def percent(self) -> float:
        return round(100 * self.errors / self.requests, 2) if self.requests else 0.0


@dataclass(frozen=True, slots=True)
class Health:
    readiness: ReadinessReport
    queue: dict[str, int]
    dead_jobs: list[Job]
    error_rate: ErrorRate
    recent_errors: list[EventEnvelope]


async def health(session: AsyncSession, actor: Actor, resources: Resources) -> Health:
    """The checks ``GET /ready`` runs, the job queue (``keel jobs list``'s numbers), this
    process's share of 5xx answers since it started, and the latest ``error.detected``."""
    ensure_staff(actor)
    return Health(
        readiness=await observability_service.readiness(resources),
        queue=await jobs_repository.count_by_status(session),
        dead_jobs=await jobs_repository.list_jobs(session, status=DEAD, limit=DEAD_JOBS_SHOWN),
        error_rate=error_rate(HTTP_REQUESTS),
        recent_errors=await events_service.newest(session, ERROR_DETECTED, limit=RECENT_ERRORS),
    )


def error_rate(counter: Counter) -> ErrorRate:
    """Requests answered and those answered 5xx, from the request counter's samples in this
    process (the same numbers ``/metrics`` exposes)."""
    samples = [
        sample
        for metric in counter.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    ]
    return _rate(samples)


def _rate(samples: Iterable[Any]) -> ErrorRate:
    total = errors = 0
    for sample in samples:
        count = int(sample.value)
        total += count
        if str(sample.labels.get("status_code", "")).startswith("5"):
            errors += count
    return ErrorRate(requests=total, errors=errors)
