"""Plans I/O: the catalog for the pricing page, an organization's plan and usage, and the
superadmin's edits (a plan, an override, an organization's plan)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator

from keel.kit.schemas import Input
from keel.plans import rules

FeatureValue = bool | int | str
PlanKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]


class RateLimitSpec(BaseModel):
    limit: Annotated[int, Field(ge=1, le=1_000_000_000)]
    window_seconds: Annotated[int, Field(ge=1, le=31 * 86400)]


RateLimits = dict[str, RateLimitSpec | None]


def _check_groups(value: RateLimits) -> RateLimits:
    unknown = sorted(set(value) - set(rules.RATE_LIMIT_GROUPS))
    if unknown:
        raise ValueError(f"unknown rate-limit groups {unknown}; known: {rules.RATE_LIMIT_GROUPS}")
    return value


def _check_features(value: dict[str, Any], *, complete: bool) -> dict[str, Any]:
    problems = rules.check_features(value, complete=complete)
    if problems:
        raise ValueError("; ".join(f"{name}: {problem}" for name, problem in problems))
    return value


class PlanRead(BaseModel):
    key: str
    name: str
    description: str | None
    price_monthly_cents: int
    price_annual_cents: int
    currency: str
    features: dict[str, FeatureValue]
    rate_limits: RateLimits
    public: bool


class PlanUpdate(Input):
    """Only the fields given change; ``features`` and ``rate_limits`` merge into the plan's."""

    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    description: Annotated[str, Field(max_length=500)] | None = None
    price_monthly_cents: Annotated[int, Field(ge=0)] | None = None
    price_annual_cents: Annotated[int, Field(ge=0)] | None = None
    features: dict[str, FeatureValue] | None = None
    rate_limits: RateLimits | None = None
    public: bool | None = None

    @field_validator("features")
    @classmethod
    def _features(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else _check_features(value, complete=False)

    @field_validator("rate_limits")
    @classmethod
    def _groups(cls, value: RateLimits | None) -> RateLimits | None:
        return None if value is None else _check_groups(value)


class OverrideWrite(Input):
    """An enterprise deal: features and rate-limit groups that replace the plan's."""

    features: dict[str, FeatureValue] = Field(default_factory=dict)
    rate_limits: RateLimits = Field(default_factory=dict)
    note: Annotated[str, Field(max_length=500)] | None = None

    @field_validator("features")
    @classmethod
    def _features(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_features(value, complete=False)

    @field_validator("rate_limits")
    @classmethod
    def _groups(cls, value: RateLimits) -> RateLimits:
        return _check_groups(value)


class OverrideRead(BaseModel):
    organization_id: str
    features: dict[str, FeatureValue]
    rate_limits: RateLimits
    note: str | None


class PlanChange(Input):
    plan: PlanKey


class LimitUsage(BaseModel):
    limit: int
    used: int | None
    #: Share of the limit used; null when unlimited or not metered.
    percent: float | None


class OrganizationPlan(BaseModel):
    """``GET /orgs/{org_id}/plan``: the plan, every feature and limit as they apply to this
    organization (override included), and current usage."""

    plan: PlanRead
    features: dict[str, FeatureValue]
    rate_limits: RateLimits
    usage: dict[str, LimitUsage]
    has_override: bool
