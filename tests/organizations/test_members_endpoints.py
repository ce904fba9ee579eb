"""``/api/v1/orgs/{org_id}/members``: list, change, remove, leave (``/members/me``)."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from tests.helpers.tenancy import add_member, make_caller, make_org, make_team, make_user
from tests.kit.test_http import assert_problem
from tests.organizations.builders import audit_entry, event_payloads, membership


def url(org_id: object, user_id: object = None) -> str:
    base = f"/api/v1/orgs/{org_id}/members"
    return base if user_id is None else f"{base}/{user_id}"


# ---- list ------------------------------------------------------------------------------------


async def test_list_members__admin__paginated_oldest_first_with_user_details(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an organization with its admin and two more members
    admin = await make_caller(db, settings, name="Ada Admin")
    org = await make_org(db, admin.user)
    others = [await make_user(db, name=f"Member {n}") for n in range(2)]
    for user in others:
        await add_member(db, org, user)
    # When the admin pages through the members two at a time
    first = await client.get(url(org.id), params={"limit": 2}, headers=admin.headers)
    assert first.status_code == 200, first.text
    cursor = first.json()["next_cursor"]
    second = await client.get(url(org.id), params={"cursor": cursor}, headers=admin.headers)
    # Then every member appears once, the founding admin first, with email and name
    items = first.json()["items"] + second.json()["items"]
    assert [i["user_id"] for i in items] == [str(u.id) for u in (admin.user, *others)]
    assert items[0]["email"] == admin.user.email and items[0]["name"] == "Ada Admin"
    assert items[0]["role"] == "admin" and second.json()["next_cursor"] is None


async def test_list_members__manager__200_member__403(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a manager and a plain member
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    manager, member = await make_caller(db, settings), await make_caller(db, settings)
    await add_member(db, org, manager.user, role="manager")
    await add_member(db, org, member.user, role="member")
    # When each lists the members, Then the manager may (users:read) and the member may not
    assert (await client.get(url(org.id), headers=manager.headers)).status_code == 200
    assert_problem(await client.get(url(org.id), headers=member.headers), 403, "permission_denied")


async def test_list_members__anonymous_401_other_tenant_404_bad_cursor_422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    stranger = await make_caller(db, settings)
    await make_org(db, stranger.user)
    assert (await client.get(url(org.id))).status_code == 401
    assert_problem(await client.get(url(org.id), headers=stranger.headers), 404, "not_found")
    bad = await client.get(url(org.id), params={"cursor": "nope"}, headers=admin.headers)
    assert bad.status_code == 422
    assert (
        await client.get(url(org.id), params={"limit": 0}, headers=admin.headers)
    ).status_code == 422


# ---- update ----------------------------------------------------------------------------------


async def test_update_member__admin_sets_role_and_team__200_audited_and_published(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a member and a team of the organization
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    user = await make_user(db)
    await add_member(db, org, user, role="member")
    team = await make_team(db, org)
    # When the admin makes them a manager of the team
    response = await client.patch(
        url(org.id, user.id),
        json={"role": "manager", "team_id": str(team.id)},
        headers=admin.headers,
    )
    # Then the membership changed, with an audit diff and a member.role_changed event
    assert response.status_code == 200, response.text
    assert (response.json()["role"], response.json()["team_id"]) == ("manager", str(team.id))
    stored = await membership(db, org, user)
    assert stored is not None and (stored.role, stored.team_id) == ("manager", team.id)
    entry = await audit_entry(db, org, "member.updated")
    assert entry.changes == {
        "role": {"before": "member", "after": "manager"},
        "team_id": {"before": None, "after": str(team.id)},
    }
    [event] = await event_payloads(db, org, "member.role_changed")
    assert (event["role"], event["previous_role"]) == ("manager", "member")


async def test_update_member__team_of_other_org__404_and_nothing_changes(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a member, and a team that belongs to another organization
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    user = await make_user(db)
    await add_member(db, org, user)
    other = await make_org(db, (await make_caller(db, settings)).user)
    foreign_team = await make_team(db, other)
    # When the admin puts the member in it, Then 404 and the membership is untouched
    for field in ("team_id", "custom_role_id"):
        response = await client.patch(
            url(org.id, user.id), json={field: str(foreign_team.id)}, headers=admin.headers
        )
        assert_problem(response, 404, "not_found")
    stored = await membership(db, org, user)
    assert stored is not None and stored.team_id is None and stored.custom_role_id is None


async def test_update_member__unknown_user__404(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    outsider = await make_user(db)
    response = await client.patch(
        url(org.id, outsider.id), json={"role": "member"}, headers=admin.headers
    )
    assert_problem(response, 404, "not_found")


async def test_update_member__anonymous_401_member_403_other_tenant_404_bad_input_422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an organization with a member, and another tenant's admin
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    member = await make_caller(db, settings)
    await add_member(db, org, member.user)
    stranger = await make_caller(db, settings)
    await make_org(db, stranger.user)
    target = url(org.id, admin.user.id)
    # Then each refusal has its status, and the admin is still admin
    assert (await client.patch(target, json={"role": "member"})).status_code == 401
    assert_problem(
        await client.patch(target, json={"role": "member"}, headers=member.headers),
        403,
        "permission_denied",
    )
    assert_problem(
        await client.patch(target, json={"role": "member"}, headers=stranger.headers),
        404,
        "not_found",
    )
    for body in ({"role": "owner"}, {"role": "member", "organization_id": str(org.id)}):
        bad = await client.patch(url(org.id, member.user.id), json=body, headers=admin.headers)
        assert bad.status_code == 422, body
    stored = await membership(db, org, admin.user)
    assert stored is not None and stored.role == "admin"


async def test_update_member__last_admin_demotes_self__409_last_admin(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an organization with a single admin
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    # When the admin demotes themself
    response = await client.patch(
        url(org.id, admin.user.id), json={"role": "manager"}, headers=admin.headers
    )
    # Then 409 last_admin and they stay admin
    assert_problem(response, 409, "last_admin")
    stored = await membership(db, org, admin.user)
    assert stored is not None and stored.role == "admin"


async def test_update_member__second_admin_exists__demotion_allowed(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    second = await make_user(db)
    await add_member(db, org, second, role="admin")
    response = await client.patch(
        url(org.id, admin.user.id), json={"role": "member"}, headers=admin.headers
    )
    assert response.status_code == 200 and response.json()["role"] == "member"


# ---- remove and leave ------------------------------------------------------------------------


async def test_remove_member__admin__204_audited_and_published(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a member
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    user = await make_user(db)
    await add_member(db, org, user, role="user")
    # When the admin removes them
    response = await client.delete(url(org.id, user.id), headers=admin.headers)
    # Then the membership is gone, audited and published
    assert response.status_code == 204, response.text
    assert await membership(db, org, user) is None
    entry = await audit_entry(db, org, "member.removed")
    assert entry.target_id == str(user.id)
    assert entry.changes is not None and entry.changes["role"] == {"before": "user", "after": None}
    assert await event_payloads(db, org, "member.removed") == [
        {"user_id": str(user.id), "role": "user"}
    ]


async def test_remove_member__anonymous_401_manager_403_other_tenant_404_unknown_404(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    manager = await make_caller(db, settings)
    await add_member(db, org, manager.user, role="manager")
    user = await make_user(db)
    await add_member(db, org, user)
    stranger = await make_caller(db, settings)
    await make_org(db, stranger.user)
    assert (await client.delete(url(org.id, user.id))).status_code == 401
    assert_problem(
        await client.delete(url(org.id, user.id), headers=manager.headers), 403, "permission_denied"
    )
    assert_problem(
        await client.delete(url(org.id, user.id), headers=stranger.headers), 404, "not_found"
    )
    assert_problem(
        await client.delete(url(org.id, stranger.user.id), headers=admin.headers), 404, "not_found"
    )
    assert (
        await client.delete(url(org.id, "not-a-uuid"), headers=admin.headers)
    ).status_code == 422
    assert await membership(db, org, user) is not None


async def test_remove_member__last_admin__409_last_admin(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    response = await client.delete(url(org.id, admin.user.id), headers=admin.headers)
    assert_problem(response, 409, "last_admin")
    assert await membership(db, org, admin.user) is not None


async def test_leave__member__204_and_no_longer_sees_org(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a plain member
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    member = await make_caller(db, settings)
    await add_member(db, org, member.user, role="guest")
    # When they leave
    response = await client.delete(url(org.id, "me"), headers=member.headers)
    # Then they are out, and the organization is a 404 for them
    assert response.status_code == 204, response.text
    assert await membership(db, org, member.user) is None
    assert (await client.get(f"/api/v1/orgs/{org.id}", headers=member.headers)).status_code == 404
    assert (await audit_entry(db, org, "member.removed")).actor_id == str(member.user.id)


async def test_leave__last_admin_409__anonymous_401__outsider_404(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    stranger = await make_caller(db, settings)
    assert_problem(await client.delete(url(org.id, "me"), headers=admin.headers), 409, "last_admin")
    assert (await client.delete(url(org.id, "me"))).status_code == 401
    assert_problem(
        await client.delete(url(org.id, "me"), headers=stranger.headers), 404, "not_found"
    )
