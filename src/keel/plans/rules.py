"""Plan entitlements, pure: a plan's features and an organization's override in, decisions out.

The vocabulary. Every plan defines every feature; a value is a boolean (the plan has it or not),
a number (a limit; ``-1`` is unlimited) or a string (a level of service, shown as is)::

    feature                      kind     meaning
    max_users                    number   members of the organization (seats)
    max_projects                 number   projects
    max_storage_gb               number   document storage, in GiB
    max_api_calls_per_month      number   API requests of the organization in a calendar month
    max_concurrent_sessions      number   signed-in sessions one user may hold at once
    basic_features               boolean  the core product
    advanced_analytics           boolean  the analytics endpoints
    api_access                   boolean  API keys (service accounts) may call the API
    custom_branding              boolean  the organization's own logo and colours
    priority_support             boolean  support answers first
    sla_guarantee                string   the uptime promised ("none", "99.9%", ...)
    dedicated_account_manager    boolean
    custom_integrations          boolean
    sso                          boolean  single sign-on
    audit_logs                   boolean  the audit log is readable by the organization
    audit_retention_days         number   days audit entries are kept before the daily purge
    custom_roles                 boolean  roles beyond the built-in five

Rate limits are per endpoint group (``api``: every request of the organization; ``generate``
and ``analytics``: the groups of those endpoints): ``{"limit": n, "window_seconds": s}``, or
``None`` for unlimited. An override (an enterprise deal) replaces single features and single
groups of one organization's plan; everything it does not name comes from the plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

FeatureKind = Literal["boolean", "number", "string"]
FeatureValue = bool | int | str

UNLIMITED = -1

FEATURES: Mapping[str, FeatureKind] = {
    "max_users": "number",
    "max_projects": "number",
    "max_storage_gb": "number",
    "max_api_calls_per_month": "number",
    "max_concurrent_sessions": "number",
    "basic_features": "boolean",
    "advanced_analytics": "boolean",
    "api_access": "boolean",
    "custom_branding": "boolean",
    "priority_support": "boolean",
    "sla_guarantee": "string",
    "dedicated_account_manager": "boolean",
    "custom_integrations": "boolean",
    "sso": "boolean",
    "audit_logs": "boolean",
    "audit_retention_days": "number",
    "custom_roles": "boolean",
}
#: How a feature is named to people (refusals, the pricing page).
LABELS: Mapping[str, str] = {
    "max_users": "users",
    "max_projects": "projects",
    "max_storage_gb": "GiB of storage",
    "max_api_calls_per_month": "API calls a month",
    "max_concurrent_sessions": "concurrent sessions",
    "basic_features": "Basic features",
    "advanced_analytics": "Advanced analytics",
    "api_access": "API access",
    "custom_branding": "Custom branding",
    "priority_support": "Priority support",
    "sla_guarantee": "SLA guarantee",
    "dedicated_account_manager": "A dedicated account manager",
    "custom_integrations": "Custom integrations",
    "sso": "Single sign-on",
    "audit_logs": "The audit log",
    "audit_retention_days": "days of audit log history",
    "custom_roles": "Custom roles",
}
LIMITS = frozenset(name for name, kind in FEATURES.items() if kind == "number")
SWITCHES = frozenset(name for name, kind in FEATURES.items() if kind == "boolean")

#: Endpoint groups a plan may limit; ``api`` counts every request of the organization.
RATE_LIMIT_GROUPS = ("api", "generate", "analytics")

#: How many units of usage one unit of a limit is (storage is counted in bytes).
UNIT = {"max_storage_gb": 1024**3}


@dataclass(frozen=True, slots=True)
class RateLimit:
    limit: int
    window_seconds: int


@dataclass(frozen=True, slots=True)
class PlanTerms:
    """One plan of the catalog as the rules need it (plain values, cacheable)."""

    key: str
    name: str
    price_monthly_cents: int
    price_annual_cents: int
    features: Mapping[str, FeatureValue]
    rate_limits: Mapping[str, RateLimit | None]
    public: bool = True
    description: str | None = None
    currency: str = "usd"


@dataclass(frozen=True, slots=True)
class Entitlements:
    """What one organization may do: its plan merged with its override."""

    plan: PlanTerms
    features: Mapping[str, FeatureValue]
    rate_limits: Mapping[str, RateLimit | None]

    def allows(self, feature: str) -> bool:
        return self.features.get(feature) is True

    def limit(self, metric: str) -> int:
        value = self.features.get(metric, 0)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0


def entitlements(plan: PlanTerms, override: Mapping[str, Any] | None) -> Entitlements:
    """The plan with the override's features and rate-limit groups laid over it."""
    override = override or {}
    features = {**plan.features, **override.get("features", {})}
    rate_limits = {**plan.rate_limits, **parse_rate_limits(override.get("rate_limits", {}))}
    return Entitlements(plan=plan, features=features, rate_limits=rate_limits)


def within(limit: int, *, current: int, adding: int = 1) -> bool:
    return limit == UNLIMITED or current + adding <= limit


def percent(used: float, limit: int) -> float | None:
    """Share of the limit used, for the usage page; None when unlimited."""
    if limit == UNLIMITED:
        return None
    return 100.0 if limit <= 0 else round(min(used / limit, 9.99) * 100, 1)


#: Shares of a limit (percent) whose crossing is announced, highest first.
NOTICE_THRESHOLDS = (100, 80)


def crossed_threshold(limit: int, *, before: float, after: float) -> int | None:
    """The highest of :data:`NOTICE_THRESHOLDS` that usage passed on its way from ``before``
    to ``after`` (both in the limit's units), or None: staying above a threshold is not
    crossing it, so a limit sitting at 100 % announces nothing more."""
    if limit == UNLIMITED or limit <= 0 or after <= before:
        return None
    for threshold in NOTICE_THRESHOLDS:
        mark = limit * threshold / 100
        if before < mark <= after:
            return threshold
    return None


def satisfies(value: FeatureValue | None, *, needed: int | None = None) -> bool:
    """A switch that is on, or a limit that admits ``needed`` units."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and needed is not None:
        return value == UNLIMITED or value >= needed
    return False


def cheapest_allowing(
    plans: Iterable[PlanTerms],
    feature: str,
    *,
    needed: int | None = None,
    excluding: str | None = None,
) -> PlanTerms | None:
    """The public plan with the lowest monthly price that has ``feature`` (or room for
    ``needed`` units of it), other than the current one (``excluding``: an override may hold
    an organization below its own plan): what a refusal offers as the upgrade."""
    fitting = [
        p
        for p in plans
        if p.public and p.key != excluding and satisfies(p.features.get(feature), needed=needed)
    ]
    return min(fitting, key=lambda p: (p.price_monthly_cents, p.key), default=None)


def parse_rate_limits(raw: Mapping[str, Any]) -> dict[str, RateLimit | None]:
    """``{"api": {"limit": 100, "window_seconds": 60}, "generate": null}`` as stored."""
    return {
        group: None if spec is None else RateLimit(int(spec["limit"]), int(spec["window_seconds"]))
        for group, spec in raw.items()
    }


def check_features(features: Mapping[str, Any], *, complete: bool) -> list[tuple[str, str]]:
    """``(feature, problem)`` for every unknown feature or value of the wrong kind; with
    ``complete`` also every missing feature (a plan must define them all)."""
    problems = [(name, "unknown feature") for name in features if name not in FEATURES]
    for name, value in features.items():
        kind = FEATURES.get(name)
        if kind is not None and not _is_kind(value, kind):
            problems.append((name, _KIND_HINT[kind]))
    if complete:
        problems += [(name, "missing") for name in FEATURES if name not in features]
    return problems


_KIND_HINT = {
    "boolean": "must be true or false",
    "number": "must be a whole number, -1 for unlimited",
    "string": "must be a string",
}


def _is_kind(value: Any, kind: FeatureKind) -> bool:
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int) and not isinstance(value, bool) and value >= UNLIMITED
    return isinstance(value, str)
