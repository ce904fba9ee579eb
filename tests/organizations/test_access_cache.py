"""A member's standing and session state are kept in the near cache after their first
request; every change to what they were built from takes effect on the very next request.

Most tests run over the test transaction (a flush is visible to every session at once, so
the cache forgets at flush). The last ones run over real commits, where the cache forgets at
commit: a transaction must still see its own writes before that."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.kit import tenancy
from keel.kit.db import Database
from keel.kit.deps import Resources
from keel.organizations.models import SUSPENDED, Membership, Organization
from keel.users.models import DISABLED
from tests.helpers.app import client_for
from tests.helpers.tenancy import Caller, add_member, caller_for, make_caller, make_org, make_user
from tests.kit.test_http import assert_problem
from tests.organizations.builders import grant_custom_role, make_invitation

ACCEPT = "/api/v1/invitations/accept"


def org_url(org_id: object) -> str:
    return f"/api/v1/orgs/{org_id}"


def members_url(org_id: object, user_id: object = None) -> str:
    base = f"/api/v1/orgs/{org_id}/members"
    return base if user_id is None else f"{base}/{user_id}"


async def org_with_member(
    db: AsyncSession, settings: Settings, *, role: str = "member"
) -> tuple[Caller, Organization, Caller, Membership]:
    """An organization with its admin, and one more member of ``role``."""
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    member = await make_caller(db, settings)
    return admin, org, member, await add_member(db, org, member.user, role=role)


async def warmed(
    client: httpx.AsyncClient, database: Database, caller: Caller, url: str, status: int = 200
) -> None:
    """Make ``caller``'s request twice, so their session state and standing are cached,
    and check the second was served from the near cache."""
    for _ in range(2):
        hits = database.near.hits
        response = await client.get(url, headers=caller.headers)
        assert response.status_code == status, response.text
    assert database.near.hits > hits


# ---- membership and role ----------------------------------------------------------------------


async def test_member_removed__very_next_request__404(
    client: httpx.AsyncClient, db: AsyncSession, database: Database, settings: Settings
) -> None:
    # Given a member whose standing is cached
    admin, org, member, _ = await org_with_member(db, settings)
    await warmed(client, database, member, org_url(org.id))
    # When the admin removes them
    removed = await client.delete(members_url(org.id, member.user.id), headers=admin.headers)
    assert removed.status_code == 204, removed.text
    # Then their next request no longer finds the organization
    assert_problem(await client.get(org_url(org.id), headers=member.headers), 404, "not_found")


async def test_member_left__very_next_request__404(
    client: httpx.AsyncClient, db: AsyncSession, database: Database, settings: Settings
) -> None:
    _admin, org, member, _ = await org_with_member(db, settings)
    await warmed(client, database, member, org_url(org.id))
    left = await client.delete(members_url(org.id, "me"), headers=member.headers)
    assert left.status_code == 204, left.text
    assert_problem(await client.get(org_url(org.id), headers=member.headers), 404, "not_found")


async def test_admin_demoted_to_guest__very_next_request__403_and_role_reads_guest(
    client: httpx.AsyncClient, db: AsyncSession, database: Database, settings: Settings
) -> None:
    # Given a second admin who listed the members (users:read), standing cached
    first = await make_caller(db, settings)
    org = await make_org(db, first.user)
    second = await make_caller(db, settings)
    await add_member(db, org, second.user, role="admin")
    await warmed(client, database, second, members_url(org.id))
    # When the first admin makes them a guest
    demoted = await client.patch(
        members_url(org.id, second.user.id), json={"role": "guest"}, headers=first.headers
    )
    assert demoted.status_code == 200, demoted.text
    # Then their very next listing is refused, and the organization reads their new role
    refused = await client.get(members_url(org.id), headers=second.headers)
    assert_problem(refused, 403, "permission_denied")
    read = await client.get(org_url(org.id), headers=second.headers)
    assert read.status_code == 200 and read.json()["role"] == "guest"


async def test_member_promoted_to_admin__very_next_request__200(
    client: httpx.AsyncClient, db: AsyncSession, database: Database, settings: Settings
) -> None:
    admin, org, member, _ = await org_with_member(db, settings)
    await warmed(client, database, member, members_url(org.id), status=403)
    promoted = await client.patch(
        members_url(org.id, member.user.id), json={"role": "admin"}, headers=admin.headers
    )
    assert promoted.status_code == 200, promoted.text
    assert (await client.get(members_url(org.id), headers=member.headers)).status_code == 200


# ---- custom roles and policies ----------------------------------------------------------------


async def test_custom_role_deleted__very_next_request__its_grant_is_gone(
    client: httpx.AsyncClient, db: AsyncSession, database: Database, settings: Settings
) -> None:
    # Given a plain member whose custom role grants users:read, standing cached
    admin, org, member, membership = await org_with_member(db, settings)
    role = await grant_custom_role(db, org, membership, "users:read")
    await warmed(client, database, member, members_url(org.id))
    # When the admin deletes the role (the database unassigns it: ON DELETE SET NULL)
    deleted = await client.delete(f"/api/v1/orgs/{org.id}/roles/{role.id}", headers=admin.headers)
    assert deleted.status_code == 204, deleted.text
    # Then the member's very next listing is refused
    refused = await client.get(members_url(org.id), headers=member.headers)
    assert_problem(refused, 403, "permission_denied")


async def test_deny_policy_created__another_members_next_request__403(
    client: httpx.AsyncClient, db: AsyncSession, database: Database, settings: Settings
) -> None:
    # Given a second admin whose standing (and compiled policies) are cached
    first = await make_caller(db, settings)
    org = await make_org(db, first.user)
    second = await make_caller(db, settings)
    await add_member(db, org, second.user, role="admin")
    await warmed(client, database, second, members_url(org.id))
    # When the first admin writes a deny policy on users:read
    deny = {"name": "freeze", "resource_type": "users", "action": "read", "effect": "deny"}
    created = await client.post(
        f"/api/v1/orgs/{org.id}/access/policies", json=deny, headers=first.headers
    )
    assert created.status_code == 201, created.text
    # Then the second admin's very next listing is refused by it
    refused = await client.get(members_url(org.id), headers=second.headers)
    assert "access policy" in str(assert_problem(refused, 403, "permission_denied")["detail"])


# ---- the user, the session, the organization -------------------------------------------------


async def test_user_disabled__very_next_request__refused(
    client: httpx.AsyncClient, db: AsyncSession, database: Database, settings: Settings
) -> None:
    # Given a member whose session state and standing are cached
    _admin, org, member, _ = await org_with_member(db, settings)
    await warmed(client, database, member, org_url(org.id))
    assert (await client.get("/api/v1/me", headers=member.headers)).status_code == 200
    # When their account is disabled (outside any request, as an operator would)
    member.user.status = DISABLED
    await db.flush()
    # Then their very next requests are refused: 401 on their account, and the organization
    # is no longer found for them (open_org checks the user is active)
    assert_problem(await client.get("/api/v1/me", headers=member.headers), 401, "not_authenticated")
    assert_problem(await client.get(org_url(org.id), headers=member.headers), 404, "not_found")


async def test_logout__very_next_request__401(
    client: httpx.AsyncClient, db: AsyncSession, database: Database, settings: Settings
) -> None:
    # Given a member with two sessions, both cached as live
    _admin, org, member, _ = await org_with_member(db, settings)
    other_device = await caller_for(db, settings, member.user)
    await warmed(client, database, member, org_url(org.id))
    await warmed(client, database, other_device, org_url(org.id))
    # When one session logs out
    out = await client.post("/api/v1/auth/logout", headers=member.headers)
    assert out.status_code == 204, out.text
    # Then its token is refused on the very next request; the other session lives on
    refused = await client.get(org_url(org.id), headers=member.headers)
    assert_problem(refused, 401, "not_authenticated")
    assert (await client.get(org_url(org.id), headers=other_device.headers)).status_code == 200


async def test_session_revoked_from_another_device__very_next_request__401(
    client: httpx.AsyncClient, db: AsyncSession, database: Database, settings: Settings
) -> None:
    _admin, org, member, _ = await org_with_member(db, settings)
    other_device = await caller_for(db, settings, member.user)
    await warmed(client, database, other_device, org_url(org.id))
    sessions = await client.get("/api/v1/me/sessions", headers=member.headers)
    assert sessions.status_code == 200, sessions.text
    current = {s["id"] for s in sessions.json()["items"] if s["current"]}
    [other_id] = [s["id"] for s in sessions.json()["items"] if s["id"] not in current]
    ended = await client.delete(f"/api/v1/me/sessions/{other_id}", headers=member.headers)
    assert ended.status_code == 204, ended.text
    refused = await client.get(org_url(org.id), headers=other_device.headers)
    assert_problem(refused, 401, "not_authenticated")


async def test_organization_suspended__very_next_request__403_organization_suspended(
    client: httpx.AsyncClient, db: AsyncSession, database: Database, settings: Settings
) -> None:
    # Given a member whose standing is cached
    admin, org, member, _ = await org_with_member(db, settings)
    await warmed(client, database, member, org_url(org.id))
    # When the platform suspends the organization
    await tenancy.enter_tenant(db, org.id)
    org.status = SUSPENDED
    await db.flush()
    # Then the member's, and the admin's, very next requests are refused
    for caller in (member, admin):
        refused = await client.get(org_url(org.id), headers=caller.headers)
        assert_problem(refused, 403, "organization_suspended")


async def test_cached_standing__other_organization__404_never_crosses(
    client: httpx.AsyncClient, db: AsyncSession, database: Database, settings: Settings
) -> None:
    # Given a member of one organization, cached, and another organization
    _admin, org, member, _ = await org_with_member(db, settings)
    other = await make_org(db, (await make_caller(db, settings)).user)
    await warmed(client, database, member, org_url(org.id))
    # When they ask for the other one, twice, Then it is not found either time
    for _ in range(2):
        refused = await client.get(org_url(other.id), headers=member.headers)
        assert_problem(refused, 404, "not_found")


# ---- real commits: the cache forgets at commit, a transaction sees its own writes -------------


async def test_accept_invitation__real_commits_nothing_cached__joins(
    committed_resources: Resources, settings: Settings
) -> None:
    # Given (real commits) a user invited to an organization, who never opened it before
    database = committed_resources.database
    async with database.transaction() as session:
        org = await make_org(session, await make_user(session))
        invitee = await caller_for(session, settings, await make_user(session))
        _, token = await make_invitation(session, org, email=invitee.user.email, role="manager")
    async with client_for(settings, committed_resources) as client:
        # When they accept, Then they join with the invitation's role
        accepted = await client.post(ACCEPT, json={"token": token}, headers=invitee.headers)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["role"] == "manager"


async def test_accept_invitation__standing_cached_while_not_a_member__joins(
    committed_resources: Resources, settings: Settings
) -> None:
    # Given (real commits) an organization, and a user invited to it who is not a member yet
    database = committed_resources.database
    async with database.transaction() as session:
        admin = await make_user(session)
        org = await make_org(session, admin)
        invitee = await caller_for(session, settings, await make_user(session))
        _, token = await make_invitation(session, org, email=invitee.user.email, role="manager")
    async with client_for(settings, committed_resources) as client:
        # And they opened the organization's link before accepting: not found, and their
        # standing there (no membership) is now cached
        for _ in range(2):
            early = await client.get(org_url(org.id), headers=invitee.headers)
            assert_problem(early, 404, "not_found")
        # When they accept the invitation
        accepted = await client.post(ACCEPT, json={"token": token}, headers=invitee.headers)
        # Then they join with the invitation's role (the request reads its own new
        # membership, not the standing cached before it), and stay a member afterwards
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["role"] == "manager"
        read = await client.get(org_url(org.id), headers=invitee.headers)
        assert read.status_code == 200 and read.json()["role"] == "manager"


async def test_member_removed__real_commits__very_next_request_404(
    committed_resources: Resources, settings: Settings
) -> None:
    database = committed_resources.database
    async with database.transaction() as session:
        admin = await caller_for(session, settings, await make_user(session))
        org = await make_org(session, admin.user)
        member = await caller_for(session, settings, await make_user(session))
        await add_member(session, org, member.user)
    async with client_for(settings, committed_resources) as client:
        await warmed(client, database, member, org_url(org.id))
        removed = await client.delete(members_url(org.id, member.user.id), headers=admin.headers)
        assert removed.status_code == 204, removed.text
        assert_problem(await client.get(org_url(org.id), headers=member.headers), 404, "not_found")
