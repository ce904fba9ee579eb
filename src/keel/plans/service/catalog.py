"""The plan catalog and per-organization overrides.

Both are read on hot paths (every gated write, every tenant request's rate limit), so they are
served from the process's near cache and invalidated at commit by the ``watch`` calls at the
end of this module, in every process (ADR 0012).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit import rules as audit_rules
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.events import service as events_service
from keel.kit import near_cache, tenancy
from keel.plans import repository, rules
from keel.plans.errors import PlanInvalid, PlanNotFound
from keel.plans.events import PlanUpdated, SubscriptionChanged
from keel.plans.models import Plan, PlanOverride
from keel.plans.schemas import OverrideRead, OverrideWrite, PlanRead, PlanUpdate

Catalog = Mapping[str, rules.PlanTerms]


async def plan_catalog(session: AsyncSession) -> Catalog:
    """Every plan by key, public or not, cheapest first."""

    async def load() -> Catalog:
        return MappingProxyType({p.key: _terms(p) for p in await repository.plans(session)})

    return await near_cache.read_through(session, "plans:catalog", _CATALOG_TAGS, load)


async def plan_terms(session: AsyncSession, key: str) -> rules.PlanTerms:
    found = (await plan_catalog(session)).get(key)
    if found is None:
        raise PlanNotFound(f"There is no plan {key!r}; GET /api/v1/plans lists the catalog.")
    return found


async def validate_plan(session: AsyncSession, key: str) -> rules.PlanTerms:
    """For a body that names a plan: an unknown key is a 422 on the field, not a 404."""
    found = (await plan_catalog(session)).get(key)
    if found is None:
        known = ", ".join(await plan_catalog(session))
        raise PlanInvalid(
            f"There is no plan {key!r}.",
            errors=[{"field": "body.plan", "message": f"must be one of: {known}"}],
        )
    return found


async def plan_read(session: AsyncSession, key: str) -> PlanRead:
    return _read(await plan_terms(session, key))


async def public_plans(session: AsyncSession) -> list[PlanRead]:
    return [_read(terms) for terms in (await plan_catalog(session)).values() if terms.public]


async def entitlements_for(
    session: AsyncSession, org_id: uuid.UUID, plan_key: str
) -> rules.Entitlements:
    """The organization's plan with its override laid over it. Call inside the tenant (or
    platform mode): the override is a tenant row."""
    terms = await plan_terms(session, plan_key)
    override = await _override_terms(session, org_id)
    return rules.entitlements(terms, override)


async def read_override(session: AsyncSession, org_id: uuid.UUID) -> OverrideRead | None:
    override = await _override_terms(session, org_id)
    if override is None:
        return None
    return OverrideRead(organization_id=str(org_id), **override)


async def update_plan(session: AsyncSession, actor: Actor, key: str, data: PlanUpdate) -> PlanRead:
    """The superadmin edits a plan of the catalog (audited, ``plan.updated``)."""
    plan = await repository.plan(session, key)
    if plan is None:
        raise PlanNotFound(f"There is no plan {key!r}; GET /api/v1/plans lists the catalog.")
    before = _snapshot(plan)
    changes = data.model_dump(exclude_unset=True, mode="json")
    for field, given in changes.items():
        merged = {**getattr(plan, field), **given} if field in _MERGED else given
        if merged is not None or field == "description":
            setattr(plan, field, merged)
    await session.flush()
    diff = audit_rules.diff(before, _snapshot(plan))
    if diff:
        await audit_service.record(
            session, actor, "plan.updated", target=Target("plan", key), changes=diff
        )
        await events_service.publish(session, PlanUpdated(plan=key, fields=sorted(diff)))
    return _read(_terms(plan))


async def set_override(
    session: AsyncSession,
    actor: Actor,
    org_id: uuid.UUID,
    plan_key: str,
    data: OverrideWrite,
) -> OverrideRead:
    """Replace the organization's override (an enterprise deal): audited and published as
    ``subscription.changed``."""
    await tenancy.enter_tenant(session, org_id)
    row = await repository.override(session, org_id)
    before = {} if row is None else _override_snapshot(row)
    if row is None:
        row = PlanOverride(organization_id=org_id, features={}, rate_limits={})
        repository.add(session, row)
    values = data.model_dump(mode="json")
    row.features, row.rate_limits, row.note = values["features"], values["rate_limits"], data.note
    row.updated_by = actor.user_id
    await session.flush()
    await _override_changed(
        session,
        actor,
        org_id=org_id,
        plan_key=plan_key,
        before=before,
        after=_override_snapshot(row),
    )
    return OverrideRead(organization_id=str(org_id), **_override_snapshot(row))


async def clear_override(
    session: AsyncSession, actor: Actor, org_id: uuid.UUID, plan_key: str
) -> None:
    """Idempotent: clearing an organization without an override changes nothing."""
    await tenancy.enter_tenant(session, org_id)
    row = await repository.override(session, org_id)
    if row is None:
        return
    before = _override_snapshot(row)
    await repository.delete(session, row)
    await session.flush()
    await _override_changed(
        session, actor, org_id=org_id, plan_key=plan_key, before=before, after={}
    )


async def _override_changed(
    session: AsyncSession,
    actor: Actor,
    *,
    org_id: uuid.UUID,
    plan_key: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    diff = audit_rules.diff(before, after)
    if not diff:
        return
    target = Target("organization", str(org_id), organization_id=org_id)
    await audit_service.record(session, actor, "plan.override_changed", target=target, changes=diff)
    event = SubscriptionChanged(
        organization_id=org_id, previous_plan=plan_key, plan=plan_key, change="override"
    )
    await events_service.publish(session, event)


async def _override_terms(session: AsyncSession, org_id: uuid.UUID) -> dict[str, Any] | None:
    """Absence is cached too (as ``{}``: the near cache never stores None), which is safe
    here: inserting an override flushes its ``plan-override:`` tag like any change."""

    async def load() -> dict[str, Any]:
        row = await repository.override(session, org_id)
        return {} if row is None else _override_snapshot(row)

    tags = (f"plan-override:{org_id}", near_cache.table_tag(PlanOverride))
    found = await near_cache.read_through(session, ("plans:override", org_id), tags, load)
    return found or None


def _terms(plan: Plan) -> rules.PlanTerms:
    return rules.PlanTerms(
        key=plan.key,
        name=plan.name,
        price_monthly_cents=plan.price_monthly_cents,
        price_annual_cents=plan.price_annual_cents,
        features=MappingProxyType(dict(plan.features)),
        rate_limits=MappingProxyType(rules.parse_rate_limits(plan.rate_limits)),
        public=plan.public,
        description=plan.description,
        currency=plan.currency,
    )


def _read(terms: rules.PlanTerms) -> PlanRead:
    return PlanRead(
        key=terms.key,
        name=terms.name,
        description=terms.description,
        price_monthly_cents=terms.price_monthly_cents,
        price_annual_cents=terms.price_annual_cents,
        currency=terms.currency,
        features=dict(terms.features),
        rate_limits=rate_limits_out(terms.rate_limits),
        public=terms.public,
    )


def rate_limits_out(limits: Mapping[str, rules.RateLimit | None]) -> dict[str, Any]:
    return {
        group: None
        if spec is None
        else {"limit": spec.limit, "window_seconds": spec.window_seconds}
        for group, spec in limits.items()
    }


def _spec_out(spec: rules.RateLimit) -> dict[str, int]:
    return {"limit": spec.limit, "window_seconds": spec.window_seconds}


def _snapshot(plan: Plan) -> dict[str, Any]:
    fields = ("name", "description", "price_monthly_cents", "price_annual_cents", "public")
    return {
        **{field: getattr(plan, field) for field in fields},
        "features": dict(plan.features),
        "rate_limits": dict(plan.rate_limits),
    }


def _override_snapshot(row: PlanOverride) -> dict[str, Any]:
    return {"features": dict(row.features), "rate_limits": dict(row.rate_limits), "note": row.note}


near_cache.watch(Plan, lambda _plan: (near_cache.table_tag(Plan),))
near_cache.watch(PlanOverride, lambda row: (f"plan-override:{row.organization_id}",))
_CATALOG_TAGS = (near_cache.table_tag(Plan),)
_MERGED = ("features", "rate_limits")
