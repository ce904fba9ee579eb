"""The platform owner's side of organizations: search across tenants (row-level security is
lifted for the statement only), counts, a user's organizations, suspension; only the
``staff`` actor of the platform-owner guards may call them."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor, ActorKind
from keel.kit import tenancy
from keel.kit.errors import PermissionDenied
from keel.kit.schemas import PageParams
from keel.organizations.errors import OrganizationSuspended
from keel.organizations.models import ACTIVE, SUSPENDED
from keel.organizations.service import access, platform
from keel.users.models import User
from tests.helpers.tenancy import access_for, add_member, make_org, make_user
from tests.organizations.builders import audit_entry, event_payloads


async def staff_of(db: AsyncSession) -> tuple[Actor, User]:
    owner = await make_user(db, is_superadmin=True)
    return Actor(kind="staff", id=str(owner.id), on_behalf_of=owner.id), owner


async def test_search__name_part_or_slug__every_tenant_newest_first_with_member_counts(
    db: AsyncSession,
) -> None:
    # Given organizations of different tenants
    tag = uuid.uuid4().hex[:6]
    older = await make_org(db, await make_user(db), name=f"Harbor Works {tag}")
    newer = await make_org(db, await make_user(db), name=f"Harbor_Labs {tag}")
    other = await make_org(db, await make_user(db), name=f"Quay {tag}")
    await add_member(db, newer, await make_user(db))
    staff, _ = await staff_of(db)
    # When the platform owner searches a part of the name, and a slug
    window = await platform.search(db, staff, query="HARBOR", page=PageParams(limit=50))
    by_slug = await platform.search(db, staff, query=other.slug, page=PageParams(limit=50))
    literal = await platform.search(db, staff, query=f"harbor_labs {tag}", page=PageParams())
    # Then both harbors come, newest first, counted; "_" is a letter, not a wildcard
    ids = {older.id, newer.id}
    found = [
        (row.organization.id, row.members) for row in window.items if row.organization.id in ids
    ]
    assert found == [(newer.id, 2), (older.id, 1)]
    assert other.id not in {row.organization.id for row in window.items}
    assert [row.organization.id for row in by_slug.items] == [other.id]
    assert [row.organization.id for row in literal.items] == [newer.id]
    # And the platform scope ended with the statement
    assert tenancy.current(db).get(tenancy.PLATFORM_SETTING) == ""


async def test_search__paged__cursor_continues(db: AsyncSession) -> None:
    tag = uuid.uuid4().hex[:6]
    for n in range(3):
        await make_org(db, await make_user(db), name=f"Paged {tag} {n}")
    staff, _ = await staff_of(db)
    first = await platform.search(db, staff, query=f"paged {tag}", page=PageParams(limit=2))
    rest = await platform.search(
        db, staff, query=f"paged {tag}", page=PageParams(limit=2, cursor=first.next_cursor)
    )
    names = [row.organization.name for row in first.items + rest.items]
    assert names == [f"Paged {tag} 2", f"Paged {tag} 1", f"Paged {tag} 0"]
    assert rest.next_cursor is None


async def test_count_and_of_user(db: AsyncSession) -> None:
    user = await make_user(db)
    mine = await make_org(db, user)
    theirs = await make_org(db, await make_user(db))
    await add_member(db, theirs, user, role="viewer")
    staff, _ = await staff_of(db)
    assert await platform.count(db, staff) >= 2
    assert [(o.id, role) for o, role in await platform.of_user(db, staff, user.id)] == [
        (mine.id, "admin"),
        (theirs.id, "viewer"),
    ]


@pytest.mark.parametrize("kind", ["user", "system", "api_key"])
async def test_every_function__not_staff__refused(db: AsyncSession, kind: ActorKind) -> None:
    owner = await make_user(db, is_superadmin=True)
    actor = Actor(kind=kind, id=str(owner.id))
    with pytest.raises(PermissionDenied):
        await platform.search(db, actor, query="", page=PageParams())
    with pytest.raises(PermissionDenied):
        await platform.count(db, actor)
    with pytest.raises(PermissionDenied):
        await platform.of_user(db, actor, owner.id)


async def test_suspend__members_refused_audited_published_then_restored(
    db: AsyncSession,
) -> None:
    # Given an organization and its admin
    admin = await make_user(db)
    org = await make_org(db, admin)
    staff, owner = await staff_of(db)
    # When the platform owner (staff) suspends it
    opened = await access.open_org(db, staff, org.id, writes=True)
    changed = await platform.set_suspended(db, opened, suspended=True, reason="fraud check")
    # Then its members are refused, the platform owner is not
    assert changed.status == SUSPENDED
    with pytest.raises(OrganizationSuspended):
        await access_for(db, admin, org)
    assert (await access.open_org(db, staff, org.id)).org_id == org.id
    entry = await audit_entry(db, org, "organization.suspended")
    assert (entry.actor_kind, entry.actor_user_id) == ("staff", owner.id)
    assert entry.context == {"reason": "fraud check"}
    assert (await event_payloads(db, org, "organization.updated"))[-1]["fields"] == ["status"]
    # When it is suspended again, nothing more is recorded; restoring lets members back
    await platform.set_suspended(db, opened, suspended=True)
    await platform.set_suspended(db, opened, suspended=False)
    assert (await access_for(db, admin, org)).role == "admin"
    assert (await audit_entry(db, org, "organization.unsuspended")).context is None
    assert org.status == ACTIVE


async def test_set_suspended__member_access__refused(db: AsyncSession) -> None:
    admin = await make_user(db)
    org = await make_org(db, admin)
    with pytest.raises(PermissionDenied):
        await platform.set_suspended(db, await access_for(db, admin, org), suspended=True)
