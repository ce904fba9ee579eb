"""The projects service on a real database: scopes, ABAC, audit, events, plan-limit hook."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, time
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.rules import (
    AttributeEquals,
    AttributeIn,
    Environment,
    IpInNetworks,
    Policy,
    PolicySet,
    Subject,
    TimeWindow,
)
from keel.access.schemas import OrgAccess
from keel.audit.models import AuditLog
from keel.config import Settings
from keel.events.models import EventRecord
from keel.kit.errors import PermissionDenied
from keel.kit.schemas import PageParams
from keel.projects import service
from keel.projects.errors import DocumentNotFound, ProjectNotFound, UnknownTeam
from keel.projects.schemas import DocumentFilters, DocumentUpdate, ProjectFilters, ProjectUpdate
from tests.helpers.tenancy import make_caller, make_org, make_team
from tests.projects.builders import Workspace, make_document, make_project, make_workspace

ALL = DocumentFilters()


async def _titles(
    db: AsyncSession, org: OrgAccess, project_id: uuid.UUID, **filters: Any
) -> set[str]:
    window = await service.list_documents(
        db, org, project_id, DocumentFilters(**filters), PageParams(limit=100)
    )
    return {d.title for d in window.items}


async def test_create_project__member__owner_audit_and_event(
    db: AsyncSession, settings: Settings
) -> None:
    # Given a member
    ws = await make_workspace(db, settings)
    member = await ws.access(db, ws.member)
    await make_project(db, member, name="First")
    # When they create a second project in their team
    project = await make_project(db, member, name="  Second  ", team_id=ws.team.id)
    # Then they own it, and audit + event were written
    assert (project.owner_id, project.name, project.team_id) == (
        ws.member.user.id,
        "Second",
        ws.team.id,
    )
    entry = await db.scalar(select(AuditLog).where(AuditLog.target_id == str(project.id)))
    assert entry is not None and entry.action == "project.created"
    assert entry.changes is not None and entry.changes["name"] == {
        "before": None,
        "after": "Second",
    }
    event = await db.scalar(
        select(EventRecord)
        .where(EventRecord.name == "project.created")
        .order_by(EventRecord.id.desc())
    )
    assert event is not None and event.payload["project_id"] == str(project.id)


async def test_create_project__team_of_another_org__unknown_team(
    db: AsyncSession, settings: Settings
) -> None:
    # Given a team of another organization
    ws = await make_workspace(db, settings)
    stranger = await make_caller(db, settings)
    foreign_team = await make_team(db, await make_org(db, stranger.user))
    admin = await ws.access(db, ws.admin)
    # When a project names it, Then the team is unknown here
    with pytest.raises(UnknownTeam):
        await make_project(db, admin, team_id=foreign_team.id)


async def test_update_document__member_not_owner__403_but_reads_it(
    db: AsyncSession, settings: Settings
) -> None:
    # Given a document the manager wrote
    ws = await make_workspace(db, settings)
    manager = await ws.access(db, ws.manager)
    project = await make_project(db, manager, team_id=ws.team.id)
    document = await make_document(db, manager, project, title="Plan")
    # When a member (own scope for writes, organization for reads) edits it
    member = await ws.access(db, ws.member)
    read = await service.get_document(db, member, project.id, document.id)
    # Then reading works and writing is refused with 403
    assert read.id == document.id
    with pytest.raises(PermissionDenied):
        await service.update_document(
            db, member, project.id, document.id, DocumentUpdate(title="Mine")
        )


async def test_manager__team_scope__manages_own_team_only(
    db: AsyncSession, settings: Settings
) -> None:
    # Given one project per team, each with a document by a member of that team
    ws = await make_workspace(db, settings)
    admin = await ws.access(db, ws.admin)
    ours = await make_project(db, admin, team_id=ws.team.id)
    theirs = await make_project(db, admin, team_id=ws.other_team.id)
    ours_doc = await make_document(db, await ws.access(db, ws.member), ours)
    theirs_doc = await make_document(db, await ws.access(db, ws.outsider), theirs)
    manager = await ws.access(db, ws.manager)
    # When the manager edits and deletes in both
    updated = await service.update_document(
        db, manager, ours.id, ours_doc.id, DocumentUpdate(title="Edited")
    )
    await service.update_project(db, manager, ours.id, ProjectUpdate(description="ours"))
    # Then their own team's work is theirs to manage, the other team's is 403
    assert updated.title == "Edited"
    with pytest.raises(PermissionDenied):
        await service.update_document(
            db, manager, theirs.id, theirs_doc.id, DocumentUpdate(title="X")
        )
    with pytest.raises(PermissionDenied):
        await service.delete_project(db, manager, theirs.id)
    with pytest.raises(PermissionDenied):  # nor may they move their project to the other team
        await service.update_project(db, manager, ours.id, ProjectUpdate(team_id=ws.other_team.id))
    await service.delete_document(db, manager, ours.id, ours_doc.id)
    with pytest.raises(DocumentNotFound):
        await service.get_document(db, manager, ours.id, ours_doc.id)


async def test_guest__shared_scope__sees_only_what_is_shared(
    db: AsyncSession, settings: Settings
) -> None:
    # Given a project with a document shared with the guest and one that is not
    ws = await make_workspace(db, settings)
    admin = await ws.access(db, ws.admin)
    project = await make_project(db, admin)
    hidden_project = await make_project(db, admin)
    shared = await make_document(db, admin, project, title="Shared", shared_with=[ws.guest.user.id])
    secret = await make_document(db, admin, project, title="Secret")
    guest = await ws.access(db, ws.guest)
    # When the guest lists and reads
    projects = await service.list_projects(db, guest, ProjectFilters(), PageParams())
    # Then only the project reached through the shared document, and only that document
    assert [p.id for p in projects.items] == [project.id]
    assert await _titles(db, guest, project.id) == {"Shared"}
    assert (await service.get_document(db, guest, project.id, shared.id)).id == shared.id
    with pytest.raises(DocumentNotFound):
        await service.get_document(db, guest, project.id, secret.id)
    with pytest.raises(ProjectNotFound):
        await service.get_project(db, guest, hidden_project.id)


async def test_user__own_and_shared__lists_both_not_others(
    db: AsyncSession, settings: Settings
) -> None:
    # Given a user's own project, a document shared with them, and one that is not
    ws = await make_workspace(db, settings)
    user = await ws.access(db, ws.user)
    mine = await make_project(db, user)
    await make_document(db, user, mine, title="Mine")
    admin = await ws.access(db, ws.admin)
    await make_document(db, admin, mine, title="Shared", shared_with=[ws.user.user.id])
    await make_document(db, admin, mine, title="Private")
    user = await ws.access(db, ws.user)
    # When listing, Then own and shared documents only
    assert await _titles(db, user, mine.id) == {"Mine", "Shared"}


async def test_other_tenant__every_verb__404_and_nothing_changes(
    db: AsyncSession, settings: Settings
) -> None:
    # Given a document in organization A, and the admin of organization B
    ws = await make_workspace(db, settings)
    admin = await ws.access(db, ws.admin)
    project = await make_project(db, admin, name="A's")
    document = await make_document(db, admin, project, title="A's doc")
    stranger = await make_caller(db, settings)
    other_org = await make_org(db, stranger.user)
    from tests.helpers.tenancy import access_for

    other = await access_for(db, stranger.user, other_org)
    # When B's admin tries every verb on A's ids, Then each is a 404
    attempts = [
        service.get_project(db, other, project.id),
        service.update_project(db, other, project.id, ProjectUpdate(name="B's")),
        service.delete_project(db, other, project.id),
        service.get_document(db, other, project.id, document.id),
        service.update_document(db, other, project.id, document.id, DocumentUpdate(title="x")),
        service.delete_document(db, other, project.id, document.id),
        service.list_documents(db, other, project.id, ALL, PageParams()),
    ]
    for attempt in attempts:
        with pytest.raises((ProjectNotFound, DocumentNotFound)):
            await attempt
    # And A's data is untouched
    admin = await ws.access(db, ws.admin)
    assert (await service.get_document(db, admin, project.id, document.id)).title == "A's doc"


async def test_get_document__other_project_in_path__404(
    db: AsyncSession, settings: Settings
) -> None:
    ws = await make_workspace(db, settings)
    admin = await ws.access(db, ws.admin)
    first, second = await make_project(db, admin), await make_project(db, admin)
    document = await make_document(db, admin, first)
    # When the document is asked for under the wrong project, Then it does not exist there
    with pytest.raises(DocumentNotFound):
        await service.get_document(db, admin, second.id, document.id)


async def test_update_document__fields__audit_diff_and_event_names_no_body(
    db: AsyncSession, settings: Settings
) -> None:
    # Given a document
    ws = await make_workspace(db, settings)
    admin = await ws.access(db, ws.admin)
    project = await make_project(db, admin)
    document = await make_document(db, admin, project, body="top secret words")
    # When its body and tags change
    await service.update_document(
        db, admin, project.id, document.id, DocumentUpdate(body="new secret", tags=["q3"])
    )
    # Then the audit diff names both without the text, and the event lists the fields
    entry = await db.scalar(select(AuditLog).where(AuditLog.action == "document.updated"))
    assert entry is not None and entry.changes is not None
    assert sorted(entry.changes) == ["body", "tags"] and "secret" not in str(entry.changes)
    event = await db.scalar(select(EventRecord).where(EventRecord.name == "document.updated"))
    assert event is not None and event.payload["fields"] == ["body", "tags"]
    assert "secret" not in str(event.payload)


async def test_update_document__no_change__nothing_recorded(
    db: AsyncSession, settings: Settings
) -> None:
    ws = await make_workspace(db, settings)
    admin = await ws.access(db, ws.admin)
    project = await make_project(db, admin)
    document = await make_document(db, admin, project, title="Same")
    await service.update_document(db, admin, project.id, document.id, DocumentUpdate(title="Same"))
    assert await db.scalar(select(AuditLog).where(AuditLog.action == "document.updated")) is None


async def test_delete_project__admin__documents_go_with_it(
    db: AsyncSession, settings: Settings
) -> None:
    ws = await make_workspace(db, settings)
    admin = await ws.access(db, ws.admin)
    project = await make_project(db, admin)
    await make_document(db, admin, project)
    await service.delete_project(db, admin, project.id)
    with pytest.raises(ProjectNotFound):
        await service.list_documents(db, admin, project.id, ALL, PageParams())
    assert (
        await db.scalar(select(EventRecord).where(EventRecord.name == "project.deleted"))
        is not None
    )


# ---- ABAC: the seed's example ------------------------------------------------------------------

ENGINEERING_ONLY = PolicySet.compile(
    [
        Policy(
            id="p-1",
            name="Engineering reads public and internal documents at the office",
            resource_type="documents",
            action="read",
            effect="allow",
            conditions=(
                AttributeEquals("user", "department", "engineering"),
                AttributeIn("resource", "classification", ("public", "internal")),
                IpInNetworks(("10.0.0.0/8",)),
                TimeWindow(time(9), time(17), "UTC"),
            ),
        )
    ]
)
OFFICE_HOURS = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)


def _with_policy(org: OrgAccess, *, department: str, ip: str, now: datetime) -> OrgAccess:
    """The caller as a request from ``ip`` at ``now`` would see it, under the seed's policy."""
    subject: Subject = dataclasses.replace(org.subject, attributes={"department": department})
    actor = dataclasses.replace(org.actor, ip=ip)
    return dataclasses.replace(
        org,
        subject=subject,
        actor=actor,
        policies=ENGINEERING_ONLY,
        environment=Environment(ip=ip, now=now),
    )


@pytest.mark.parametrize(
    ("department", "ip", "now", "expected"),
    [
        ("engineering", "10.1.2.3", OFFICE_HOURS, {"Public", "Internal"}),
        ("sales", "10.1.2.3", OFFICE_HOURS, set()),
        ("engineering", "203.0.113.5", OFFICE_HOURS, set()),
        ("engineering", "10.1.2.3", OFFICE_HOURS.replace(hour=18), set()),
    ],
)
async def test_abac_example__conditions__list_and_get_follow_policy(
    db: AsyncSession,
    settings: Settings,
    department: str,
    ip: str,
    now: datetime,
    expected: set[str],
) -> None:
    # Given documents of every classification and the seed's engineering-only read policy
    ws = await make_workspace(db, settings)
    admin = await ws.access(db, ws.admin)
    project = await make_project(db, admin)
    documents = {
        c: await make_document(db, admin, project, title=c.title(), classification=c)
        for c in ("public", "internal", "confidential", "restricted")
    }
    member = _with_policy(await ws.access(db, ws.member), department=department, ip=ip, now=now)
    # When a member lists and reads
    titles = await _titles(db, member, project.id)
    # Then only what the policy allows, and the rest is 404 one by one
    assert titles == expected
    with pytest.raises(DocumentNotFound):
        await service.get_document(db, member, project.id, documents["confidential"].id)


async def test_list_documents__policy_drops_rows__page_topped_up_and_cursor_exact(
    db: AsyncSession, settings: Settings
) -> None:
    # Given 6 documents, alternating readable (internal) and denied (restricted)
    ws = await make_workspace(db, settings)
    admin = await ws.access(db, ws.admin)
    project = await make_project(db, admin)
    for i in range(6):
        await make_document(
            db, admin, project, title=f"d{i}", classification="internal" if i % 2 else "restricted"
        )
    member = _with_policy(
        await ws.access(db, ws.member), department="engineering", ip="10.0.0.1", now=OFFICE_HOURS
    )
    # When paging two at a time
    first = await service.list_documents(db, member, project.id, ALL, PageParams(limit=2))
    second = await service.list_documents(
        db, member, project.id, ALL, PageParams(limit=2, cursor=first.next_cursor)
    )
    # Then the first page is full despite the denied rows, and the second has the rest
    assert [d.title for d in first.items] == ["d5", "d3"]
    assert [d.title for d in second.items] == ["d1"]


async def test_list_documents__filters_and_pagination__no_repeats(
    db: AsyncSession, settings: Settings
) -> None:
    # Given documents with various tags, classifications and owners
    ws = await make_workspace(db, settings)
    admin = await ws.access(db, ws.admin)
    project = await make_project(db, admin)
    for i in range(5):
        await make_document(
            db, admin, project, title=f"t{i}", tags=["q3"] if i < 4 else [], classification="public"
        )
    await make_document(
        db, admin, project, title="conf", classification="confidential", tags=["q3"]
    )
    member = await ws.access(db, ws.member)
    await make_document(db, member, project, title="by member")
    admin = await ws.access(db, ws.admin)
    # When filtering by tag + classification and paging by 3
    seen: list[str] = []
    cursor = None
    while True:
        window = await service.list_documents(
            db,
            admin,
            project.id,
            DocumentFilters(tag="q3", classification="public"),
            PageParams(limit=3, cursor=cursor),
        )
        seen += [d.title for d in window.items]
        cursor = window.next_cursor
        if cursor is None:
            break
    # Then every match exactly once, newest first; the owner filter works too
    assert seen == ["t3", "t2", "t1", "t0"]
    assert await _titles(db, admin, project.id, owner_id=ws.member.user.id) == {"by member"}


async def test_list_projects__filters_and_scope(db: AsyncSession, settings: Settings) -> None:
    ws = await make_workspace(db, settings)
    admin = await ws.access(db, ws.admin)
    in_team = await make_project(db, admin, team_id=ws.team.id)
    await make_project(db, admin, team_id=ws.other_team.id)
    user = await ws.access(db, ws.user)
    own = await make_project(db, user)
    admin = await ws.access(db, ws.admin)
    # When filtering, Then only matches; a user sees their own project only
    by_team = await service.list_projects(
        db, admin, ProjectFilters(team_id=ws.team.id), PageParams()
    )
    assert [p.id for p in by_team.items] == [in_team.id]
    by_owner = await service.list_projects(
        db, admin, ProjectFilters(owner_id=ws.user.user.id), PageParams()
    )
    assert [p.id for p in by_owner.items] == [own.id]
    user = await ws.access(db, ws.user)
    assert [
        p.id for p in (await service.list_projects(db, user, ProjectFilters(), PageParams())).items
    ] == [own.id]


def test_workspace__dataclass__has_every_role() -> None:
    assert {f.name for f in dataclasses.fields(Workspace)} >= {
        "admin",
        "manager",
        "member",
        "user",
        "guest",
    }


async def test_list_projects__name_search__case_insensitive_wildcards_literal(
    db: AsyncSession, settings: Settings
) -> None:
    # Given three projects of one organization
    ws = await make_workspace(db, settings)
    admin = await ws.access(db, ws.admin)
    roadmap = await make_project(db, admin, name="Product Roadmap")
    done = await make_project(db, admin, name="100% done")
    await make_project(db, admin, name="Budget")

    async def found(q: str) -> list[uuid.UUID]:
        window = await service.list_projects(db, admin, ProjectFilters(q=q), PageParams())
        return [p.id for p in window.items]

    # When searching by part of a name, Then case does not matter
    assert await found("roadMAP") == [roadmap.id]
    # And LIKE wildcards are plain characters: "%" finds only the name holding one
    assert await found("%") == [done.id]
    assert await found("_") == []
