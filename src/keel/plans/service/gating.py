"""``ensure_feature`` and ``ensure_within_limit``: where a plan says no, with the way out.

Counts come from meters that the domains owning the counted rows register
(``register_meter("max_projects", count_projects)``): plans sits below them and cannot query
their tables, and the owner counts inside the caller's transaction, so the check sees the
caller's own uncommitted rows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import OrgAccess
from keel.plans import rules
from keel.plans.errors import FeatureNotInPlan, PlanLimitExceeded
from keel.plans.schemas import LimitUsage, OrganizationPlan
from keel.plans.service import catalog as catalog_service
from keel.plans.service import notices

Meter = Callable[[AsyncSession, OrgAccess], Awaitable[int]]
_METERS: dict[str, Meter] = {}


def register_meter(metric: str, meter: Meter) -> None:
    """``meter`` counts the organization's current use of ``metric`` (a limit of
    :data:`keel.plans.rules.LIMITS`, in the units of :data:`keel.plans.rules.UNIT`)."""
    if metric not in rules.LIMITS:
        raise ValueError(f"unknown plan limit {metric!r}; known: {sorted(rules.LIMITS)}")
    _METERS[metric] = meter


async def ensure_feature(session: AsyncSession, org: OrgAccess, feature: str) -> None:
    if feature not in rules.SWITCHES:
        raise ValueError(f"unknown plan feature {feature!r}; known: {sorted(rules.SWITCHES)}")
    granted = await catalog_service.entitlements_for(session, org.org_id, org.plan)
    if granted.allows(feature):
        return
    plans = (await catalog_service.plan_catalog(session)).values()
    upgrade = rules.cheapest_allowing(plans, feature, excluding=granted.plan.key)
    raise FeatureNotInPlan(
        f"{rules.LABELS[feature]} is not included in your {granted.plan.name} plan. "
        f"{_upgrade_text(upgrade)}",
        feature=feature,
        plan=granted.plan.key,
        upgrade_to=upgrade.key if upgrade else None,
    )


async def ensure_within_limit(
    session: AsyncSession,
    org: OrgAccess,
    metric: str,
    *,
    current: int | None = None,
    adding: int = 1,
) -> None:
    """Raise ``plan_limit_exceeded`` when ``current + adding`` passes the limit; ``current``
    defaults to the registered meter's count. Admitted usage that crosses 80 % or 100 % of
    the limit is announced (:mod:`keel.plans.service.notices`)."""
    if metric not in rules.LIMITS:
        raise ValueError(f"unknown plan limit {metric!r}; known: {sorted(rules.LIMITS)}")
    granted = await catalog_service.entitlements_for(session, org.org_id, org.plan)
    limit = granted.limit(metric)
    if limit == rules.UNLIMITED:
        return
    if current is None:
        current = await _METERS[metric](session, org)
    unit = rules.UNIT.get(metric, 1)
    if rules.within(limit * unit, current=current, adding=adding):
        await notices.notice_crossing(
            session,
            org.org_id,
            metric=metric,
            limit=limit,
            plan=granted.plan.key,
            before=current,
            after=current + adding,
        )
        return
    raise limit_exceeded(
        granted, metric, (await catalog_service.plan_catalog(session)).values(), current
    )


def limit_exceeded(
    granted: rules.Entitlements,
    metric: str,
    plans: Iterable[rules.PlanTerms],
    current: int,
) -> PlanLimitExceeded:
    needed = current // rules.UNIT.get(metric, 1) + 1
    upgrade = rules.cheapest_allowing(plans, metric, needed=needed, excluding=granted.plan.key)
    limit = granted.limit(metric)
    return PlanLimitExceeded(
        f"Your {granted.plan.name} plan allows {limit} {rules.LABELS[metric]}. "
        f"{_upgrade_text(upgrade, more=True)}",
        feature=metric,
        plan=granted.plan.key,
        limit=limit,
        current=current,
        upgrade_to=upgrade.key if upgrade else None,
    )


async def rate_limit(session: AsyncSession, org: OrgAccess, group: str) -> rules.RateLimit | None:
    """The organization's limit for an endpoint group; None is unlimited."""
    granted = await catalog_service.entitlements_for(session, org.org_id, org.plan)
    return granted.rate_limits.get(group)


async def organization_plan(session: AsyncSession, org: OrgAccess) -> OrganizationPlan:
    granted = await catalog_service.entitlements_for(session, org.org_id, org.plan)
    usage: dict[str, LimitUsage] = {}
    for metric in sorted(rules.LIMITS):
        limit = granted.limit(metric)
        meter = _METERS.get(metric)
        used = None if meter is None else await meter(session, org)
        shown = None if used is None else used / rules.UNIT.get(metric, 1)
        usage[metric] = LimitUsage(
            limit=limit,
            used=used,
            percent=None if shown is None else rules.percent(shown, limit),
        )
    has_override = await catalog_service.read_override(session, org.org_id) is not None
    return OrganizationPlan(
        plan=await catalog_service.plan_read(session, org.plan),
        features=dict(granted.features),
        rate_limits=catalog_service.rate_limits_out(granted.rate_limits),
        usage=usage,
        has_override=has_override,
    )


def _upgrade_text(upgrade: rules.PlanTerms | None, *, more: bool = False) -> str:
    if upgrade is None:
        return "No plan offers more; contact sales." if more else "Contact sales to access it."
    return f"Upgrade to {upgrade.name} to {'add more' if more else 'access it'}."
