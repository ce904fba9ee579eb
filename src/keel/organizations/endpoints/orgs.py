"""``/api/v1/orgs``: create, list mine, read, update, delete an organization."""

from __future__ import annotations

from fastapi import Response

from keel.auth.dependencies import CurrentActor, CurrentUser, Idempotent
from keel.kit.deps import DbSession
from keel.kit.routing import api_router
from keel.organizations.dependencies import CanManageOrganization, OrgMember
from keel.organizations.models import Organization
from keel.organizations.schemas import (
    OrganizationCreate,
    OrganizationDelete,
    OrganizationRead,
    OrganizationUpdate,
)
from keel.organizations.service import orgs

router = api_router(tags=["organizations"])


def read_model(org: Organization, role: str | None) -> OrganizationRead:
    return OrganizationRead.model_validate(org, from_attributes=True).model_copy(
        update={"role": role}
    )


@router.post("/orgs", status_code=201, response_model=OrganizationRead)
async def create_organization(
    body: OrganizationCreate,
    user: CurrentUser,
    actor: CurrentActor,
    db: DbSession,
    idempotency: Idempotent,
) -> OrganizationRead:
    return read_model(await orgs.create(db, actor, user, body), "admin")


@router.get("/orgs", response_model=list[OrganizationRead])
async def list_my_organizations(user: CurrentUser, db: DbSession) -> list[OrganizationRead]:
    return [read_model(org, role) for org, role in await orgs.list_mine(db, user.id)]


@router.get("/orgs/{org_id}", response_model=OrganizationRead)
async def read_organization(org: OrgMember, db: DbSession) -> OrganizationRead:
    return read_model(await orgs.get(db, org), org.role)


@router.patch("/orgs/{org_id}", response_model=OrganizationRead)
async def update_organization(
    body: OrganizationUpdate, org: CanManageOrganization, db: DbSession
) -> OrganizationRead:
    return read_model(await orgs.update(db, org, body), org.role)


@router.delete("/orgs/{org_id}", status_code=204)
async def delete_organization(
    body: OrganizationDelete, org: CanManageOrganization, user: CurrentUser, db: DbSession
) -> Response:
    await orgs.delete(db, org, user, password=body.password)
    return Response(status_code=204)
