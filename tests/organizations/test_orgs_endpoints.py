"""``/api/v1/orgs``: create, list, read, update, delete."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from tests.helpers.tenancy import PASSWORD, add_member, make_caller, make_org, make_user


async def test_create_org__creator__becomes_admin_and_lists_it(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a signed-in user
    caller = await make_caller(db, settings)
    # When they create an organization
    created = await client.post(
        "/api/v1/orgs", json={"name": "Acme Rockets"}, headers=caller.headers
    )
    # Then it exists with a slug, the free plan, and the creator as admin
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["slug"], body["plan"], body["role"], body["status"]) == (
        "acme-rockets",
        "free",
        "admin",
        "active",
    )
    listed = await client.get("/api/v1/orgs", headers=caller.headers)
    assert [o["id"] for o in listed.json()] == [body["id"]]
    me = await client.get("/api/v1/me", headers=caller.headers)
    assert me.json()["organizations"] == [
        {"id": body["id"], "name": "Acme Rockets", "role": "admin"}
    ]


async def test_create_org__slug_taken__409_and_derived_slug_gets_suffix(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    caller = await make_caller(db, settings)
    first = await client.post("/api/v1/orgs", json={"name": "Acme"}, headers=caller.headers)
    other = await make_caller(db, settings)
    # When another user asks for the same slug explicitly
    taken = await client.post(
        "/api/v1/orgs", json={"name": "Acme 2", "slug": "acme"}, headers=other.headers
    )
    # Then 409 slug_taken; deriving from the same name picks a free slug instead
    assert taken.status_code == 409 and taken.json()["code"] == "slug_taken"
    derived = await client.post("/api/v1/orgs", json={"name": "Acme"}, headers=other.headers)
    assert derived.status_code == 201
    assert derived.json()["slug"].startswith("acme-") and first.json()["slug"] == "acme"


async def test_read_org__not_a_member__404(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_caller(db, settings)
    org = await make_org(db, owner.user)
    stranger = await make_caller(db, settings)
    response = await client.get(f"/api/v1/orgs/{org.id}", headers=stranger.headers)
    assert response.status_code == 404 and response.json()["code"] == "not_found"


async def test_update_org__member_role__403_admin__200(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_caller(db, settings)
    org = await make_org(db, owner.user)
    member = await make_caller(db, settings)
    await add_member(db, org, member.user, role="member")
    denied = await client.patch(
        f"/api/v1/orgs/{org.id}", json={"name": "Renamed"}, headers=member.headers
    )
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    allowed = await client.patch(
        f"/api/v1/orgs/{org.id}", json={"name": "Renamed"}, headers=owner.headers
    )
    assert allowed.status_code == 200 and allowed.json()["name"] == "Renamed"


async def test_update_org__mass_assignment__422_and_nothing_changes(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_caller(db, settings)
    org = await make_org(db, owner.user)
    for field, value in (("plan", "enterprise"), ("status", "suspended"), ("id", str(org.id))):
        response = await client.patch(
            f"/api/v1/orgs/{org.id}", json={"name": "X", field: value}, headers=owner.headers
        )
        assert response.status_code == 422, field
    read = await client.get(f"/api/v1/orgs/{org.id}", headers=owner.headers)
    assert (read.json()["plan"], read.json()["status"], read.json()["name"]) == (
        "free",
        "active",
        org.name,
    )


async def test_delete_org__admin_with_password__204_then_404(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_caller(db, settings)
    org = await make_org(db, owner.user)
    wrong = await client.request(
        "DELETE", f"/api/v1/orgs/{org.id}", json={"password": "nope"}, headers=owner.headers
    )
    assert wrong.status_code == 400 or wrong.status_code == 403, wrong.text
    deleted = await client.request(
        "DELETE", f"/api/v1/orgs/{org.id}", json={"password": PASSWORD}, headers=owner.headers
    )
    assert deleted.status_code == 204, deleted.text
    gone = await client.get(f"/api/v1/orgs/{org.id}", headers=owner.headers)
    assert gone.status_code == 404


async def test_delete_org__unverified_email__403(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_caller(db, settings, verified=False)
    org = await make_org(db, owner.user)
    response = await client.request(
        "DELETE", f"/api/v1/orgs/{org.id}", json={"password": PASSWORD}, headers=owner.headers
    )
    assert response.status_code == 403
    assert (await client.get(f"/api/v1/orgs/{org.id}", headers=owner.headers)).status_code == 200


async def test_orgs__anonymous__401(client: httpx.AsyncClient, db: AsyncSession) -> None:
    owner = await make_user(db)
    org = await make_org(db, owner)
    assert (await client.get(f"/api/v1/orgs/{org.id}")).status_code == 401
    assert (await client.post("/api/v1/orgs", json={"name": "x"})).status_code == 401
