"""``/api/v1/orgs/{org_id}/roles``: an organization's custom roles (admins:
``settings:update``, the ``CanManageAccess`` requirement)."""

from __future__ import annotations

import uuid

from fastapi import Response

from keel.auth.dependencies import Idempotent
from keel.kit.deps import DbSession
from keel.kit.routing import api_router
from keel.kit.schemas import Page, Pagination
from keel.organizations.dependencies import CanManageAccess
from keel.organizations.schemas import CustomRoleCreate, CustomRoleRead, CustomRoleUpdate
from keel.organizations.service import roles

router = api_router(tags=["organizations"])


@router.post("/orgs/{org_id}/roles", status_code=201, response_model=CustomRoleRead)
async def create_role(
    body: CustomRoleCreate, org: CanManageAccess, db: DbSession, idempotency: Idempotent
) -> CustomRoleRead:
    return await roles.create(db, org, body)


@router.get("/orgs/{org_id}/roles", response_model=Page[CustomRoleRead])
async def list_roles(org: CanManageAccess, page: Pagination, db: DbSession) -> Page[CustomRoleRead]:
    return await roles.list_page(db, org, page)


@router.get("/orgs/{org_id}/roles/{role_id}", response_model=CustomRoleRead)
async def read_role(role_id: uuid.UUID, org: CanManageAccess, db: DbSession) -> CustomRoleRead:
    return await roles.get(db, org, role_id)


@router.patch("/orgs/{org_id}/roles/{role_id}", response_model=CustomRoleRead)
async def update_role(
    role_id: uuid.UUID, body: CustomRoleUpdate, org: CanManageAccess, db: DbSession
) -> CustomRoleRead:
    return await roles.update(db, org, role_id, body)


@router.delete("/orgs/{org_id}/roles/{role_id}", status_code=204)
async def delete_role(role_id: uuid.UUID, org: CanManageAccess, db: DbSession) -> Response:
    await roles.delete(db, org, role_id)
    return Response(status_code=204)
