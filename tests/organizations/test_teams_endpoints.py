"""``/api/v1/orgs/{org_id}/teams``: create, list, read, rename, delete."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.organizations.models import Team
from tests.helpers.tenancy import add_member, make_caller, make_org, make_team, make_user
from tests.kit.test_http import assert_problem
from tests.organizations.builders import audit_entry, event_payloads, fresh, membership


def url(org_id: object, team_id: object = None) -> str:
    base = f"/api/v1/orgs/{org_id}/teams"
    return base if team_id is None else f"{base}/{team_id}"


async def test_create_team__admin__201_audited_and_published(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an admin
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    # When they create a team
    response = await client.post(url(org.id), json={"name": " Rockets "}, headers=admin.headers)
    # Then it exists, empty, with an audit entry and a team.created event
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["name"], body["member_count"]) == ("Rockets", 0)
    entry = await audit_entry(db, org, "team.created")
    assert entry.target_id == body["id"]
    assert entry.changes == {"name": {"before": None, "after": "Rockets"}}
    assert await event_payloads(db, org, "team.created") == [
        {"team_id": body["id"], "team_name": "Rockets"}
    ]


async def test_create_team__duplicate_name__409_team_name_taken(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    await make_team(db, org, name="Rockets")
    response = await client.post(url(org.id), json={"name": "Rockets"}, headers=admin.headers)
    assert_problem(response, 409, "team_name_taken")


async def test_create_team__anonymous_401_manager_403_other_tenant_404_bad_input_422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an organization, one of its team managers, and another tenant's admin
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    team = await make_team(db, org)
    manager = await make_caller(db, settings)
    await add_member(db, org, manager.user, role="manager", team=team)
    member = await make_caller(db, settings)
    await add_member(db, org, member.user)
    stranger = await make_caller(db, settings)
    await make_org(db, stranger.user)
    body = {"name": "New"}
    # Then: no token 401; a member 403; a team-scoped manager 403 (creating is org-wide);
    # another tenant 404; a bad body 422
    assert (await client.post(url(org.id), json=body)).status_code == 401
    for caller in (member, manager):
        response = await client.post(url(org.id), json=body, headers=caller.headers)
        assert_problem(response, 403, "permission_denied")
    assert_problem(
        await client.post(url(org.id), json=body, headers=stranger.headers), 404, "not_found"
    )
    for bad in ({"name": ""}, {"name": "x" * 101}, {}, {"name": "A", "organization_id": "x"}):
        assert (await client.post(url(org.id), json=bad, headers=admin.headers)).status_code == 422
    teams = await fresh(db, select(Team).where(Team.organization_id == org.id))
    assert [t.id for t in teams] == [team.id]


async def test_list_teams__admin__member_counts_in_one_page(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given two teams, one with two members
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    full, empty = await make_team(db, org, name="Full"), await make_team(db, org, name="Empty")
    for _ in range(2):
        await add_member(db, org, await make_user(db), team=full)
    # When the admin lists the teams
    response = await client.get(url(org.id), headers=admin.headers)
    # Then both appear, newest first, with their member counts
    assert response.status_code == 200, response.text
    counts = [(t["name"], t["member_count"]) for t in response.json()["items"]]
    assert counts == [("Empty", 0), ("Full", 2)]
    assert response.json()["next_cursor"] is None
    single = await client.get(url(org.id, full.id), headers=admin.headers)
    assert single.status_code == 200 and single.json()["member_count"] == 2
    assert empty.id


async def test_list_teams__manager__sees_only_own_team(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    mine, theirs = await make_team(db, org), await make_team(db, org)
    manager = await make_caller(db, settings)
    await add_member(db, org, manager.user, role="manager", team=mine)
    response = await client.get(url(org.id), headers=manager.headers)
    assert [t["id"] for t in response.json()["items"]] == [str(mine.id)]
    assert_problem(
        await client.get(url(org.id, theirs.id), headers=manager.headers), 403, "permission_denied"
    )


async def test_read_team__anonymous_401_member_403_other_tenant_404_bad_id_422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    team = await make_team(db, org)
    member = await make_caller(db, settings)
    await add_member(db, org, member.user, team=team)
    stranger = await make_caller(db, settings)
    own_org = await make_org(db, stranger.user)
    assert (await client.get(url(org.id, team.id))).status_code == 401
    assert_problem(
        await client.get(url(org.id, team.id), headers=member.headers), 403, "permission_denied"
    )
    assert_problem(
        await client.get(url(org.id, team.id), headers=stranger.headers), 404, "not_found"
    )
    # another tenant's team through the stranger's own organization is just as unknown
    assert_problem(
        await client.get(url(own_org.id, team.id), headers=stranger.headers), 404, "not_found"
    )
    assert (await client.get(url(org.id, "x"), headers=admin.headers)).status_code == 422


async def test_rename_team__manager_own_team_200_other_team_403(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a manager of one team and another team
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    mine, theirs = await make_team(db, org, name="Mine"), await make_team(db, org, name="Theirs")
    manager = await make_caller(db, settings)
    await add_member(db, org, manager.user, role="manager", team=mine)
    # When the manager renames both
    own = await client.patch(url(org.id, mine.id), json={"name": "Ours"}, headers=manager.headers)
    other = await client.patch(
        url(org.id, theirs.id), json={"name": "Taken"}, headers=manager.headers
    )
    # Then only their own team changes, audited with a diff and published
    assert own.status_code == 200 and own.json()["name"] == "Ours"
    assert own.json()["member_count"] == 1
    assert_problem(other, 403, "permission_denied")
    entry = await audit_entry(db, org, "team.updated")
    assert entry.changes == {"name": {"before": "Mine", "after": "Ours"}}
    assert await event_payloads(db, org, "team.updated") == [
        {"team_id": str(mine.id), "team_name": "Ours"}
    ]
    [stored] = await fresh(db, select(Team).where(Team.id == theirs.id))
    assert stored.name == "Theirs"


async def test_rename_team__anonymous_401_other_tenant_404_bad_input_422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    team = await make_team(db, org, name="Same")
    stranger = await make_caller(db, settings)
    own_org = await make_org(db, stranger.user)
    body = {"name": "Hijacked"}
    assert (await client.patch(url(org.id, team.id), json=body)).status_code == 401
    for org_id in (org.id, own_org.id):
        response = await client.patch(url(org_id, team.id), json=body, headers=stranger.headers)
        assert_problem(response, 404, "not_found")
    bad = await client.patch(url(org.id, team.id), json={"name": ""}, headers=admin.headers)
    assert bad.status_code == 422
    [stored] = await fresh(db, select(Team).where(Team.id == team.id))
    assert stored.name == "Same"


async def test_delete_team__admin__204_members_stay_teamless(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a team with a member
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    team = await make_team(db, org)
    user = await make_user(db)
    await add_member(db, org, user, team=team)
    # When the admin deletes it
    response = await client.delete(url(org.id, team.id), headers=admin.headers)
    # Then the team is gone and the member remains, without a team
    assert response.status_code == 204, response.text
    assert await fresh(db, select(Team).where(Team.id == team.id)) == []
    stored = await membership(db, org, user)
    assert stored is not None and stored.team_id is None
    assert (await audit_entry(db, org, "team.deleted")).target_id == str(team.id)
    assert await event_payloads(db, org, "team.deleted") == [{"team_id": str(team.id)}]


async def test_delete_team__anonymous_401_manager_of_other_403_other_tenant_404(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    mine, theirs = await make_team(db, org), await make_team(db, org)
    manager = await make_caller(db, settings)
    await add_member(db, org, manager.user, role="manager", team=mine)
    stranger = await make_caller(db, settings)
    await make_org(db, stranger.user)
    assert (await client.delete(url(org.id, theirs.id))).status_code == 401
    assert_problem(
        await client.delete(url(org.id, theirs.id), headers=manager.headers),
        403,
        "permission_denied",
    )
    assert_problem(
        await client.delete(url(org.id, theirs.id), headers=stranger.headers), 404, "not_found"
    )
    assert (await client.delete(url(org.id, "x"), headers=admin.headers)).status_code == 422
    assert len(await fresh(db, select(Team).where(Team.organization_id == org.id))) == 2
    # And a manager may delete their own team
    assert (await client.delete(url(org.id, mine.id), headers=manager.headers)).status_code == 204
