"""Mass assignment: fields a client must never set (``organization_id``, ``role`` where it is
not offered, ``is_superadmin``, ``owner_id``, ``plan``, ``status``) are refused with 422 or
ignored — never applied."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from tests.helpers.tenancy import add_member, make_caller, make_org


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/orgs", {"name": "X", "plan": "enterprise"}),
        ("POST", "/orgs", {"name": "X", "status": "suspended"}),
        ("POST", "/orgs", {"name": "X", "id": str(uuid.uuid4())}),
        ("PATCH", "/orgs/{org}", {"access_version": 9}),
        ("PATCH", "/orgs/{org}/members/{member}", {"organization_id": str(uuid.uuid4())}),
        ("PATCH", "/orgs/{org}/members/{member}", {"user_id": str(uuid.uuid4())}),
        ("POST", "/orgs/{org}/invitations", {"email": "a@example.com", "organization_id": "x"}),
        ("POST", "/orgs/{org}/teams", {"name": "T", "organization_id": str(uuid.uuid4())}),
        ("POST", "/orgs/{org}/projects", {"name": "P", "owner_id": str(uuid.uuid4())}),
        ("POST", "/orgs/{org}/projects", {"name": "P", "organization_id": str(uuid.uuid4())}),
    ],
)
async def test_body__field_the_client_may_not_set__422(
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    method: str,
    path: str,
    body: dict[str, Any],
) -> None:
    # Given an admin of an organization with a member
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    member = await make_caller(db, settings)
    await add_member(db, org, member.user)
    url = "/api/v1" + path.format(org=org.id, member=member.user.id)
    # When the body carries a field that is not the client's to set
    response = await client.request(method, url, json=body, headers=admin.headers)
    # Then it is refused as malformed, naming the field
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"


async def test_patch_me__is_superadmin_in_body__never_applied(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    caller = await make_caller(db, settings)
    response = await client.patch(
        "/api/v1/me", json={"name": "Eve", "is_superadmin": True}, headers=caller.headers
    )
    assert response.status_code in (200, 422)
    await db.refresh(caller.user)
    assert caller.user.is_superadmin is False


async def test_create_org__role_in_body__422_and_creator_is_admin_only_by_rule(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    caller = await make_caller(db, settings)
    response = await client.post(
        "/api/v1/orgs", json={"name": "X", "role": "superadmin"}, headers=caller.headers
    )
    assert response.status_code == 422
    assert (await client.get("/api/v1/orgs", headers=caller.headers)).json() == []
