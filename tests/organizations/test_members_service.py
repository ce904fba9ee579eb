"""The members service against a real database: role ceilings and the last-admin rule under
concurrency (PostgreSQL: two transactions racing to demote the two admins)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.kit import tenancy
from keel.kit.db import Database
from keel.kit.schemas import PageParams
from keel.organizations.errors import LastAdmin, ObjectNotFound, RoleTooHigh
from keel.organizations.models import Membership, Organization
from keel.organizations.schemas import MemberUpdate
from keel.organizations.service import members
from keel.users.models import User
from tests.conftest import requires_postgres
from tests.helpers.tenancy import access_for, add_member, make_org, make_team, make_user
from tests.organizations.builders import grant_custom_role


async def test_update__custom_role_may_manage_but_grants_above_own__role_too_high(
    db: AsyncSession,
) -> None:
    # Given a manager whose custom role holds users:update organization-wide
    admin = await make_user(db)
    org = await make_org(db, admin)
    manager = await make_user(db)
    await grant_custom_role(
        db, org, await add_member(db, org, manager, role="manager"), "users:update"
    )
    user = await make_user(db)
    await add_member(db, org, user, role="user")
    access = await access_for(db, manager, org)
    # When they promote someone to admin, or touch the admin, Then role_too_high
    with pytest.raises(RoleTooHigh):
        await members.update(db, access, user.id, MemberUpdate(role="admin"))
    with pytest.raises(RoleTooHigh):
        await members.update(db, access, admin.id, MemberUpdate(role="user"))
    # And up to their own role is allowed
    read = await members.update(db, access, user.id, MemberUpdate(role="manager"))
    assert read.role == "manager"


async def test_update__role_null__keeps_role_and_clears_team(db: AsyncSession) -> None:
    admin = await make_user(db)
    org = await make_org(db, admin)
    access = await access_for(db, admin, org)
    read = await members.update(db, access, admin.id, MemberUpdate(role=None, team_id=None))
    assert (read.role, read.team_id) == ("admin", None)


@requires_postgres
async def test_demote__two_admins_demote_each_other_concurrently__one_refused_last_admin(
    committed_database: Database, settings: Settings
) -> None:
    # Given an organization with exactly two admins, committed
    async with committed_database.transaction() as session:
        first, second = await make_user(session), await make_user(session)
        org = await make_org(session, first)
        await add_member(session, org, second, role="admin")
    # When the first demotes the second and, before that commits, the second demotes the first
    async with committed_database.transaction() as one:
        await members.update(
            one, await access_for(one, first, org), second.id, MemberUpdate(role="member")
        )
        racing = asyncio.create_task(_demote(committed_database, org, second, first))
        await asyncio.sleep(0.5)  # the second transaction is now waiting on the admin rows
        assert not racing.done()
    # Then the later demotion sees the earlier one and is refused
    with pytest.raises(LastAdmin):
        await racing
    async with committed_database.transaction() as session:
        await tenancy.enter_tenant(session, org.id)
        rows = (await session.execute(select(Membership.user_id, Membership.role))).all()
        roles = dict(rows)
    assert roles == {first.id: "admin", second.id: "member"}


async def _demote(database: Database, org: Organization, actor: User, target: User) -> None:
    async with database.transaction() as session:
        access = await access_for(session, actor, org)
        await members.update(session, access, target.id, MemberUpdate(role="member"))


async def test_admin_contacts__admins_members_and_disabled__active_admins_only(
    db: AsyncSession,
) -> None:
    # Given an organization with its founding admin, a second admin who is disabled,
    # and a plain member
    founder = await make_user(db)
    org = await make_org(db, founder)
    disabled = await make_user(db, status="disabled")
    await add_member(db, org, disabled, role="admin")
    await add_member(db, org, await make_user(db), role="member")
    # When a job asks whom to write to
    contacts = await members.admin_contacts(db, org.id)
    # Then only the active admin is named
    assert [(c.user_id, c.email) for c in contacts] == [(founder.id, founder.email)]


async def test_list_page__team_id__only_that_teams_members(db: AsyncSession) -> None:
    # Given an organization with one member in a team and one outside it
    admin = await make_user(db)
    org = await make_org(db, admin)
    team = await make_team(db, org)
    inside, outside = await make_user(db), await make_user(db)
    await add_member(db, org, inside, team=team)
    await add_member(db, org, outside)
    access = await access_for(db, admin, org)
    # When the team's members are listed, and everyone
    of_team = await members.list_page(db, access, PageParams(), team_id=team.id)
    everyone = await members.list_page(db, access, PageParams())
    # Then the team's list has its member alone; the whole list has all three
    assert [m.user_id for m in of_team.items] == [inside.id]
    assert {m.user_id for m in everyone.items} == {admin.id, inside.id, outside.id}


async def test_get__member_of_this_org__read_another_tenants__not_found(db: AsyncSession) -> None:
    # Given a member here, and a member of another organization
    admin = await make_user(db)
    org = await make_org(db, admin)
    mary = await make_user(db, name="Mary")
    await add_member(db, org, mary, role="user")
    stranger = await make_user(db)
    await add_member(db, await make_org(db, await make_user(db)), stranger)
    access = await access_for(db, admin, org)
    # When each is read through this organization
    read = await members.get(db, access, mary.id)
    # Then the member is found, the stranger is not (as for any other tenant's object)
    assert (read.user_id, read.name, read.role) == (mary.id, "Mary", "user")
    with pytest.raises(ObjectNotFound):
        await members.get(db, access, stranger.id)
