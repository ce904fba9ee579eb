"""``/api/v1/orgs/{org_id}/roles``: custom roles, and their effect on members' access."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.kit import tenancy
from keel.organizations.models import Organization
from tests.helpers.tenancy import add_member, make_caller, make_org
from tests.kit.test_http import assert_problem
from tests.organizations.builders import audit_actions, event_payloads, fresh

READ_MEMBERS = [{"permission": "users:read", "scope": "organization"}]


def url(org_id: object, role_id: object = None) -> str:
    base = f"/api/v1/orgs/{org_id}/roles"
    return base if role_id is None else f"{base}/{role_id}"


async def access_version(db: AsyncSession, org: Organization) -> int:
    rows = await fresh(db, select(Organization).where(Organization.id == org.id))
    return rows[0].access_version


async def test_custom_role__crud__audited_evented_and_bumps_access_version(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an admin
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user, plan="professional")
    version = await access_version(db, org)
    # When they create, read, rename, list and delete a custom role
    body: dict[str, Any] = {"name": "Auditor", "grants": READ_MEMBERS}
    created = await client.post(url(org.id), json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    role_id = created.json()["id"]
    assert created.json()["grants"] == READ_MEMBERS
    read = await client.get(url(org.id, role_id), headers=admin.headers)
    assert read.json()["name"] == "Auditor"
    renamed = await client.patch(
        url(org.id, role_id), json={"name": "Reviewer"}, headers=admin.headers
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Reviewer"
    listed = await client.get(url(org.id), headers=admin.headers)
    assert [r["id"] for r in listed.json()["items"]] == [role_id]
    deleted = await client.delete(url(org.id, role_id), headers=admin.headers)
    # Then each change is audited, published and bumps access_version; the role is gone
    assert deleted.status_code == 204
    assert (await client.get(url(org.id, role_id), headers=admin.headers)).status_code == 404
    actions = await audit_actions(db, org)
    for action in ("custom_role.created", "custom_role.updated", "custom_role.deleted"):
        assert action in actions
        assert await event_payloads(db, org, action) == [{"custom_role_id": role_id}]
    assert await access_version(db, org) == version + 3


async def test_custom_role__invalid_grants_or_name__422_and_duplicate__409(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user, plan="professional")
    # When a grant names an unknown permission or the global scope, Then 422
    for grant in (
        {"permission": "users:fly", "scope": "organization"},
        {"permission": "users:read", "scope": "global"},
    ):
        response = await client.post(
            url(org.id), json={"name": "X", "grants": [grant]}, headers=admin.headers
        )
        assert_problem(response, 422, "validation_error")
    # When the name is a built-in role's, Then 422 says to choose another
    builtin = await client.post(
        url(org.id), json={"name": "admin", "grants": READ_MEMBERS}, headers=admin.headers
    )
    assert "built-in" in str(assert_problem(builtin, 422, "validation_error")["detail"])
    # When the name is taken in the organization, Then 409
    first = await client.post(
        url(org.id), json={"name": "Auditor", "grants": READ_MEMBERS}, headers=admin.headers
    )
    assert first.status_code == 201
    again = await client.post(
        url(org.id), json={"name": "Auditor", "grants": READ_MEMBERS}, headers=admin.headers
    )
    assert_problem(again, 409, "role_name_taken")


async def test_custom_role__member_403_anonymous_401_other_tenant_404(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user, plan="professional")
    member = await make_caller(db, settings)
    await add_member(db, org, member.user)
    stranger = await make_caller(db, settings)
    other = await make_org(db, stranger.user, plan="professional")
    assert_problem(await client.get(url(org.id), headers=member.headers), 403, "permission_denied")
    assert (await client.get(url(org.id))).status_code == 401
    assert_problem(await client.get(url(org.id), headers=stranger.headers), 404, "not_found")
    # Given a role of the first organization, When the other admin names it in theirs, Then 404
    created = await client.post(
        url(org.id), json={"name": "Auditor", "grants": READ_MEMBERS}, headers=admin.headers
    )
    foreign = await client.get(url(other.id, created.json()["id"]), headers=stranger.headers)
    assert_problem(foreign, 404, "not_found")


async def test_custom_role__assigned_then_changed__effect_on_the_very_next_request(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a plain member (no users:read) and a custom role granting it
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user, plan="professional")
    member = await make_caller(db, settings)
    membership = await add_member(db, org, member.user, role="member")
    members_url = f"/api/v1/orgs/{org.id}/members"
    assert (await client.get(members_url, headers=member.headers)).status_code == 403
    created = await client.post(
        url(org.id), json={"name": "Auditor", "grants": READ_MEMBERS}, headers=admin.headers
    )
    role_id = uuid.UUID(created.json()["id"])
    # When the member is given the role
    await tenancy.enter_tenant(db, org.id)
    membership.custom_role_id = role_id
    await db.flush()
    # Then they may list members
    assert (await client.get(members_url, headers=member.headers)).status_code == 200
    # When the role's grants change to something else, Then the very next request is refused
    changed = await client.patch(
        url(org.id, role_id),
        json={"grants": [{"permission": "team:read", "scope": "organization"}]},
        headers=admin.headers,
    )
    assert changed.status_code == 200, changed.text
    assert (await client.get(members_url, headers=member.headers)).status_code == 403
    assert (await client.get(f"/api/v1/orgs/{org.id}/teams", headers=member.headers)).is_success
