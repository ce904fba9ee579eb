"""``/api/v1/orgs/{org_id}/access/policies`` (ABAC policies) and
``/api/v1/orgs/{org_id}/access/explain`` (admins: ``settings:update``, ``CanManageAccess``)."""

from __future__ import annotations

import uuid

from fastapi import Response

from keel.auth.dependencies import Idempotent
from keel.kit.deps import DbSession
from keel.kit.routing import api_router
from keel.kit.schemas import Page, Pagination
from keel.organizations.dependencies import CanManageAccess
from keel.organizations.schemas import (
    ExplainRead,
    ExplainRequest,
    PolicyCreate,
    PolicyRead,
    PolicyUpdate,
)
from keel.organizations.service import policies

router = api_router(tags=["organizations"])


@router.post("/orgs/{org_id}/access/policies", status_code=201, response_model=PolicyRead)
async def create_policy(
    body: PolicyCreate, org: CanManageAccess, db: DbSession, idempotency: Idempotent
) -> PolicyRead:
    return await policies.create(db, org, body)


@router.get("/orgs/{org_id}/access/policies", response_model=Page[PolicyRead])
async def list_policies(org: CanManageAccess, page: Pagination, db: DbSession) -> Page[PolicyRead]:
    return await policies.list_page(db, org, page)


@router.get("/orgs/{org_id}/access/policies/{policy_id}", response_model=PolicyRead)
async def read_policy(policy_id: uuid.UUID, org: CanManageAccess, db: DbSession) -> PolicyRead:
    return await policies.get(db, org, policy_id)


@router.patch("/orgs/{org_id}/access/policies/{policy_id}", response_model=PolicyRead)
async def update_policy(
    policy_id: uuid.UUID, body: PolicyUpdate, org: CanManageAccess, db: DbSession
) -> PolicyRead:
    return await policies.update(db, org, policy_id, body)


@router.delete("/orgs/{org_id}/access/policies/{policy_id}", status_code=204)
async def delete_policy(policy_id: uuid.UUID, org: CanManageAccess, db: DbSession) -> Response:
    await policies.delete(db, org, policy_id)
    return Response(status_code=204)


@router.post("/orgs/{org_id}/access/explain", response_model=ExplainRead)
async def explain_access(body: ExplainRequest, org: CanManageAccess, db: DbSession) -> ExplainRead:
    return await policies.explain(db, org, body)
