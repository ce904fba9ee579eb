"""The plans HTTP surface: the public catalog, an organization's plan and usage, and the
superadmin's catalog and override edits (``/api/v1/admin/...``).

On the admin routes with an ``{org_id}``, ``OrgMember`` comes first: whoever is neither a
member nor the platform owner gets the 404 every other tenant route gives, not a 403 that
would confirm the organization exists."""

from __future__ import annotations

from fastapi import Response

from keel.auth.dependencies import PlatformOwner
from keel.kit.deps import DbSession
from keel.kit.routing import api_router
from keel.organizations.dependencies import OrgMember
from keel.plans import service
from keel.plans.schemas import (
    OrganizationPlan,
    OverrideRead,
    OverrideWrite,
    PlanRead,
    PlanUpdate,
)

router = api_router(tags=["plans"])
admin_router = api_router(tags=["admin: plans"])


@router.get("/plans", response_model=list[PlanRead])
async def list_plans(db: DbSession) -> list[PlanRead]:
    """The public catalog, cheapest first: what the pricing page shows."""
    return await service.public_plans(db)


@router.get("/orgs/{org_id}/plan", response_model=OrganizationPlan)
async def read_organization_plan(org: OrgMember, db: DbSession) -> OrganizationPlan:
    return await service.organization_plan(db, org)


@admin_router.get("/admin/plans", response_model=list[PlanRead])
async def list_all_plans(_owner: PlatformOwner, db: DbSession) -> list[PlanRead]:
    """Every plan, hidden ones included."""
    return [await service.plan_read(db, key) for key in await service.plan_catalog(db)]


@admin_router.patch("/admin/plans/{plan_key}", response_model=PlanRead)
async def update_plan(
    plan_key: str, body: PlanUpdate, owner: PlatformOwner, db: DbSession
) -> PlanRead:
    return await service.update_plan(db, owner, plan_key, body)


@admin_router.get("/admin/orgs/{org_id}/plan-override", response_model=OverrideRead | None)
async def read_plan_override(
    org: OrgMember, _owner: PlatformOwner, db: DbSession
) -> OverrideRead | None:
    return await service.read_override(db, org.org_id)


@admin_router.put("/admin/orgs/{org_id}/plan-override", response_model=OverrideRead)
async def set_plan_override(
    body: OverrideWrite, org: OrgMember, owner: PlatformOwner, db: DbSession
) -> OverrideRead:
    return await service.set_override(db, owner, org.org_id, org.plan, body)


@admin_router.delete("/admin/orgs/{org_id}/plan-override", status_code=204)
async def clear_plan_override(org: OrgMember, owner: PlatformOwner, db: DbSession) -> Response:
    await service.clear_override(db, owner, org.org_id, org.plan)
    return Response(status_code=204)


ROUTERS = (router, admin_router)
