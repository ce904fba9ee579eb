"""``/api/v1/admin/orgs/{org_id}/plan``: the platform owner changes an organization's plan."""

from __future__ import annotations

from keel.auth.dependencies import PlatformOwner
from keel.kit.deps import DbSession
from keel.kit.routing import api_router
from keel.organizations.dependencies import OrgMember
from keel.organizations.endpoints.orgs import read_model
from keel.organizations.schemas import OrganizationRead
from keel.organizations.service import orgs
from keel.plans.schemas import PlanChange

router = api_router(tags=["admin: organizations"])


@router.put("/admin/orgs/{org_id}/plan", response_model=OrganizationRead)
async def change_organization_plan(
    body: PlanChange, org: OrgMember, _owner: PlatformOwner, db: DbSession
) -> OrganizationRead:
    return read_model(await orgs.change_plan(db, org, body.plan), org.role)
