"""``/api/v1/orgs/{org_id}/api-keys`` and ``Authorization: Bearer keel_...``."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.auth.models import ApiKey
from keel.config import Settings
from keel.kit import clock, security, tenancy
from keel.organizations.models import Organization
from tests.helpers.tenancy import Caller, add_member, make_caller, make_org
from tests.kit.test_http import assert_problem
from tests.organizations.builders import (
    audit_actions,
    event_payloads,
    fresh,
    grant_custom_role,
    membership,
)


def url(org_id: object, key_id: object = None) -> str:
    base = f"/api/v1/orgs/{org_id}/api-keys"
    return base if key_id is None else f"{base}/{key_id}"


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def create_key(
    client: httpx.AsyncClient, caller: Caller, org: Organization, *permissions: str, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        url(org.id),
        json={"name": "CI", "permissions": list(permissions), **body},
        headers=caller.headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def stored(db: AsyncSession, key_id: str) -> ApiKey:
    rows = await fresh(db, select(ApiKey).where(ApiKey.id == uuid.UUID(key_id)))
    return rows[0]


# ---- create and list -------------------------------------------------------------------------


async def test_create_api_key__admin__secret_shown_once_and_only_its_hash_stored(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an admin of an organization
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user, plan="starter")
    # When they create a key
    created = await create_key(client, admin, org, "users:read", "documents:read")
    # Then the secret is shown once, and the table keeps only its SHA-256 and a prefix
    secret = created["secret"]
    assert secret.startswith("keel_") and len(secret) > 40
    assert created["prefix"] == secret[:12] and created["status"] == "active"
    assert created["permissions"] == ["documents:read", "users:read"]
    row = await stored(db, created["id"])
    assert row.secret_hash == security.token_hash(secret) and secret not in str(row.__dict__)
    assert row.created_by == admin.user.id
    # And the listing shows the key without its secret or hash; audit and event are written
    listed = (await client.get(url(org.id), headers=admin.headers)).json()
    assert [k["id"] for k in listed] == [created["id"]]
    assert "secret" not in listed[0] and "secret_hash" not in listed[0]
    assert listed[0]["created_by"] == str(admin.user.id) and listed[0]["last_used_at"] is None
    assert "api_key.created" in await audit_actions(db, org)
    events = await event_payloads(db, org, "api_key.created")
    assert events == [
        {
            "api_key_id": created["id"],
            "created_by": str(admin.user.id),
            "permissions": ["documents:read", "users:read"],
        }
    ]


async def test_create_api_key__unknown_permission_or_past_expiry__422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user, plan="starter")
    # When the body names a permission outside the catalog, Then 422 names the choices
    unknown = await client.post(
        url(org.id), json={"name": "k", "permissions": ["documents:fly"]}, headers=admin.headers
    )
    assert_problem(unknown, 422, "validation_error")
    assert "documents:read" in unknown.text
    # When the expiry is in the past, Then 422
    past = (clock.now() - timedelta(hours=1)).isoformat()
    expired = await client.post(
        url(org.id),
        json={"name": "k", "permissions": ["users:read"], "expires_at": past},
        headers=admin.headers,
    )
    assert_problem(expired, 422, "validation_error")


async def test_create_api_key__permission_beyond_creator__403(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a member whose custom role lets them manage access, but who lacks billing:update
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user, plan="starter")
    delegate = await make_caller(db, settings)
    member = await add_member(db, org, delegate.user, role="member")
    await grant_custom_role(db, org, member, "settings:update")
    # When they ask for a key with billing:update
    response = await client.post(
        url(org.id),
        json={"name": "k", "permissions": ["settings:update", "billing:update"]},
        headers=delegate.headers,
    )
    # Then 403: a key never holds more than its creator; within their rights it works
    body = assert_problem(response, 403, "permission_denied")
    assert "billing:update" in str(body["detail"])
    await create_key(client, delegate, org, "settings:update", "documents:read")


async def test_api_keys__member_403_anonymous_401_other_tenant_404(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user, plan="starter")
    member = await make_caller(db, settings)
    await add_member(db, org, member.user)
    stranger = await make_caller(db, settings)
    await make_org(db, stranger.user, plan="starter")
    assert_problem(await client.get(url(org.id), headers=member.headers), 403, "permission_denied")
    assert (await client.get(url(org.id))).status_code == 401
    assert_problem(await client.get(url(org.id), headers=stranger.headers), 404, "not_found")


# ---- using a key -----------------------------------------------------------------------------


async def test_api_key__as_bearer__works_within_its_permissions_only(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an admin's key that may read members but not teams
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user, plan="starter")
    secret = (await create_key(client, admin, org, "users:read"))["secret"]
    # When the key reads members, Then 200; when it reads teams, Then 403
    members = await client.get(f"/api/v1/orgs/{org.id}/members", headers=bearer(secret))
    assert members.status_code == 200, members.text
    teams = await client.get(f"/api/v1/orgs/{org.id}/teams", headers=bearer(secret))
    assert_problem(teams, 403, "permission_denied")


async def test_api_key__other_organization_of_its_creator__404(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an admin of two organizations and a key of the first
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user, plan="starter")
    other = await make_org(db, admin.user, plan="starter")
    secret = (await create_key(client, admin, org, "users:read"))["secret"]
    # When the key is used on the second, Then 404 (the key belongs to one organization)
    response = await client.get(f"/api/v1/orgs/{other.id}/members", headers=bearer(secret))
    assert_problem(response, 404, "not_found")


async def test_api_key__revoked__401_at_once(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a key that was used (so its record is cached)
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user, plan="starter")
    created = await create_key(client, admin, org, "users:read")
    members_url = f"/api/v1/orgs/{org.id}/members"
    assert (await client.get(members_url, headers=bearer(created["secret"]))).status_code == 200
    # When the admin revokes it
    revoked = await client.delete(url(org.id, created["id"]), headers=admin.headers)
    assert revoked.status_code == 204, revoked.text
    # Then the very next request with it is 401, and the listing says revoked
    after = await client.get(members_url, headers=bearer(created["secret"]))
    assert_problem(after, 401, "not_authenticated")
    listed = (await client.get(url(org.id), headers=admin.headers)).json()
    assert listed[0]["status"] == "revoked" and listed[0]["revoked_at"] is not None
    assert await event_payloads(db, org, "api_key.revoked") == [
        {"api_key_id": created["id"], "revoked_by": str(admin.user.id)}
    ]
    assert "api_key.revoked" in await audit_actions(db, org)


async def test_api_key__expired_or_unknown__401(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a key whose expiry has passed
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user, plan="starter")
    created = await create_key(client, admin, org, "users:read")
    row = await stored(db, created["id"])
    await tenancy.enter_tenant(db, org.id)
    row.expires_at = clock.now() - timedelta(seconds=1)
    await db.flush()
    members_url = f"/api/v1/orgs/{org.id}/members"
    # When it is used, Then 401; an unknown key is 401 too
    expired = await client.get(members_url, headers=bearer(created["secret"]))
    assert_problem(expired, 401, "not_authenticated")
    unknown = await client.get(members_url, headers=bearer("keel_" + security.new_token()))
    assert_problem(unknown, 401, "not_authenticated")


async def test_api_key__creator_demoted__capped_by_creator_role(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an admin's key with users:read, and the admin later made a plain member
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user, plan="starter")
    secret = (await create_key(client, admin, org, "users:read"))["secret"]
    second_admin = await make_caller(db, settings)
    await add_member(db, org, second_admin.user, role="admin")
    row = await membership(db, org, admin.user)
    assert row is not None
    await tenancy.enter_tenant(db, org.id)
    row.role = "member"
    await db.flush()
    # When the key reads members, Then 403: it never does more than its creator may now
    response = await client.get(f"/api/v1/orgs/{org.id}/members", headers=bearer(secret))
    assert_problem(response, 403, "permission_denied")


async def test_api_key__person_only_routes__refused(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a key with every permission its admin creator holds
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user, plan="starter")
    secret = (await create_key(client, admin, org, "settings:update", "users:read"))["secret"]
    # When it calls routes that act for a person, Then 403 person_required
    assert_problem(await client.get("/api/v1/me", headers=bearer(secret)), 403, "person_required")
    created_org = await client.post("/api/v1/orgs", json={"name": "X"}, headers=bearer(secret))
    assert_problem(created_org, 403, "person_required")
    minted = await client.post(
        url(org.id), json={"name": "k", "permissions": ["users:read"]}, headers=bearer(secret)
    )
    assert_problem(minted, 403, "person_required")


async def test_api_key__used__last_used_at_written_once_per_minute(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a fresh key
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user, plan="starter")
    created = await create_key(client, admin, org, "users:read")
    members_url = f"/api/v1/orgs/{org.id}/members"
    # When it is used twice in a row
    for _ in range(2):
        response = await client.get(members_url, headers=bearer(created["secret"]))
        assert response.status_code == 200
    # Then last_used_at is set (once: the second use within the minute writes nothing)
    first_use = (await stored(db, created["id"])).last_used_at
    assert first_use is not None and clock.now() - first_use < timedelta(minutes=1)
