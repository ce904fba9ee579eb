"""``/api/v1/orgs/{org_id}/api-keys``: issue, list and revoke the organization's API keys.

Requirement: ``CanManageAccess`` (``settings:update``, admins). A key is a standing credential
that acts without its creator present, so issuing one is an access-management decision, like
custom roles and policies; a key still never holds more than its creator's own role.
"""

from __future__ import annotations

import uuid

from fastapi import Response

from keel.auth.dependencies import Idempotent
from keel.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from keel.auth.service import api_keys
from keel.kit.deps import AppResources, DbSession
from keel.kit.routing import api_router
from keel.organizations.dependencies import CanManageAccess

router = api_router(tags=["organizations"])


@router.post("/orgs/{org_id}/api-keys", status_code=201, response_model=ApiKeyCreated)
async def create_api_key(
    body: ApiKeyCreate, org: CanManageAccess, db: DbSession, idempotency: Idempotent
) -> ApiKeyCreated:
    key, secret = await api_keys.create(db, org, body)
    return ApiKeyCreated(**api_keys.read(key).model_dump(), secret=secret)


@router.get("/orgs/{org_id}/api-keys", response_model=list[ApiKeyRead])
async def list_api_keys(org: CanManageAccess, db: DbSession) -> list[ApiKeyRead]:
    return [api_keys.read(key) for key in await api_keys.list_keys(db, org)]


@router.delete("/orgs/{org_id}/api-keys/{key_id}", status_code=204)
async def revoke_api_key(
    key_id: uuid.UUID, org: CanManageAccess, db: DbSession, resources: AppResources
) -> Response:
    await api_keys.revoke(db, org, key_id, cache=resources.cache)
    return Response(status_code=204)
