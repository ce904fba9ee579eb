"""Projects, and the reading helpers the documents module shares.

Lists only return rows the caller may read, in two steps: the widest read scope becomes a SQL
filter (``rules.visibility``), then ``access.can`` runs on each row of the page to apply ABAC
policies. When policies drop rows, the page is *topped up* (:func:`top_up`): the next rows are
fetched (asking only for the number still missing) up to :data:`TOP_UP_ROUNDS` queries in all,
and the cursor is the position after the last row scanned, so no row is returned twice and
none is skipped. A page can still come back short (when policies deny many rows in a row),
with a cursor to go on; without policies a page is one query.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access import service as access
from keel.access.rules import Resource, Scope
from keel.access.schemas import OrgAccess
from keel.audit import rules as audit_rules
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.events import service as events_service
from keel.kit.ids import new_id
from keel.kit.repository import Window
from keel.kit.schemas import PageParams
from keel.organizations.service import teams
from keel.plans import service as plans_service
from keel.projects import rules
from keel.projects.errors import ProjectNotFound, UnknownTeam
from keel.projects.events import ProjectCreated, ProjectDeleted, ProjectUpdated
from keel.projects.models import Project
from keel.projects.repository import DocumentRepository, ProjectRepository
from keel.projects.schemas import ProjectCreate, ProjectFilters, ProjectUpdate
from keel.projects.service import views

TOP_UP_ROUNDS = 3
T = TypeVar("T")
P = TypeVar("P", bound="ProjectLike")


def read_scope(org: OrgAccess, permission: str) -> Scope | None:
    """The widest scope the caller reads at; an API key without the permission reads nothing."""
    if org.actor.permissions is not None and permission not in org.actor.permissions:
        return None
    return rules.widest_scope(org.subject, permission)


async def create_project(session: AsyncSession, org: OrgAccess, data: ProjectCreate) -> Project:
    repository = ProjectRepository(session, org.org_id)
    owner_id = org.actor.user_id
    await _ensure_team(session, org, data.team_id)
    access.ensure(org, "projects:write", _project_resource(org, owner_id, data.team_id))
    await plans_service.ensure_within_limit(
        session, org, "max_projects", current=await repository.count()
    )
    project = Project(
        id=new_id(),
        organization_id=org.org_id,
        name=data.name,
        description=data.description,
        team_id=data.team_id,
        owner_id=owner_id,
    )
    await repository.add(project)
    await audit(
        session,
        org,
        "project.created",
        _project_target(project),
        before={},
        after=_snapshot(project),
    )
    await events_service.publish(
        session,
        ProjectCreated(organization_id=org.org_id, project_id=project.id, created_by=owner_id),
    )
    return project


async def get_project(session: AsyncSession, org: OrgAccess, project_id: uuid.UUID) -> Project:
    repository = ProjectRepository(session, org.org_id)
    project = await repository.get(project_id)
    if project is None or not await _may_read_project(repository, org, project):
        raise ProjectNotFound()
    return project


async def list_projects(
    session: AsyncSession, org: OrgAccess, filters: ProjectFilters, page: PageParams
) -> Window[Project]:
    repository = ProjectRepository(session, org.org_id)
    seen = rules.visibility(read_scope(org, "projects:read"), org.subject)

    async def fetch(part: PageParams) -> Window[Project]:
        return await repository.page(filters, seen, part)

    async def keep(projects: Sequence[Project]) -> list[Project]:
        return await _readable_projects(repository, org, projects)

    return await top_up(fetch, keep, page)


async def update_project(
    session: AsyncSession, org: OrgAccess, project_id: uuid.UUID, data: ProjectUpdate
) -> Project:
    project = await get_project(session, org, project_id)
    access.ensure(org, "projects:write", _project_resource(org, project.owner_id, project.team_id))
    changes = data.changes()
    if "team_id" in changes and changes["team_id"] != project.team_id:
        await _ensure_team(session, org, changes["team_id"])
        moved = _project_resource(org, project.owner_id, changes["team_id"])
        access.ensure(org, "projects:write", moved)  # no moving a project out of one's reach
    before = _snapshot(project)
    for field, value in changes.items():
        setattr(project, field, value)
    diff = audit_rules.diff(before, _snapshot(project))
    if not diff:
        return project
    await session.flush()
    await audit(
        session,
        org,
        "project.updated",
        _project_target(project),
        before=before,
        after=_snapshot(project),
    )
    await events_service.publish(
        session,
        ProjectUpdated(organization_id=org.org_id, project_id=project.id, fields=sorted(diff)),
    )
    return project


async def delete_project(session: AsyncSession, org: OrgAccess, project_id: uuid.UUID) -> None:
    """Deletes the project's documents with it (the database cascades)."""
    project = await get_project(session, org, project_id)
    access.ensure(org, "projects:delete", _project_resource(org, project.owner_id, project.team_id))
    await audit(
        session,
        org,
        "project.deleted",
        _project_target(project),
        before=_snapshot(project),
        after={},
    )
    await events_service.publish(
        session, ProjectDeleted(organization_id=org.org_id, project_id=project.id)
    )
    await ProjectRepository(session, org.org_id).delete(project)


# ---- reading rights ----------------------------------------------------------------------------


class ProjectLike(Protocol):
    """What reading rights look at: a project row or its cached view."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def owner_id(self) -> uuid.UUID | None: ...
    @property
    def team_id(self) -> uuid.UUID | None: ...


async def readable_project_view(
    session: AsyncSession, org: OrgAccess, project_id: uuid.UUID
) -> views.ProjectView:
    """:func:`get_project` for the read path: the cached view, with the same rights."""
    project = await views.project(session, org, project_id)
    repository = ProjectRepository(session, org.org_id)
    if project is None or not await _may_read_project(repository, org, project):
        raise ProjectNotFound()
    return project


async def _may_read_project(repository: ProjectRepository, org: OrgAccess, project: P) -> bool:
    return bool(await _readable_projects(repository, org, [project]))


async def _readable_projects(
    repository: ProjectRepository, org: OrgAccess, projects: Sequence[P]
) -> list[P]:
    """The projects the caller may read; those RBAC refuses get a second look (one query for
    all of them): a project is shared with whoever owns or was given one of its documents."""
    readable = {
        p.id
        for p in projects
        if access.can(org, "projects:read", _project_resource(org, p.owner_id, p.team_id))
    }
    user_id = org.actor.user_id
    others = [p.id for p in projects if p.id not in readable]
    if others and user_id is not None:
        reached = await repository.reached_through_documents(others, user_id)
        for p in projects:
            shared = _project_resource(org, p.owner_id, p.team_id, shared_with=[user_id])
            if p.id in reached and access.can(org, "projects:read", shared):
                readable.add(p.id)
    return [p for p in projects if p.id in readable]


async def _ensure_team(session: AsyncSession, org: OrgAccess, team_id: uuid.UUID | None) -> None:
    if team_id is not None and not await teams.exists(session, org, team_id):
        raise UnknownTeam(
            "The team_id names no team of this organization.",
            errors=[{"field": "body.team_id", "message": "no such team in this organization"}],
        )


# ---- views for access checks and the audit log -------------------------------------------------


def _project_resource(
    org: OrgAccess,
    owner_id: uuid.UUID | None,
    team_id: uuid.UUID | None,
    *,
    shared_with: Sequence[uuid.UUID] = (),
) -> Resource:
    return rules.project_resource(
        organization_id=org.org_id, owner_id=owner_id, team_id=team_id, shared_with=shared_with
    )


def _snapshot(project: Project) -> dict[str, Any]:
    return {
        "name": project.name,
        "description": project.description,
        "team_id": id_text(project.team_id),
        "owner_id": id_text(project.owner_id),
    }


def _project_target(project: Project) -> Target:
    return Target(type="project", id=str(project.id), organization_id=project.organization_id)


# ---- shared with documents ---------------------------------------------------------------------


async def top_up(
    fetch: Callable[[PageParams], Awaitable[Window[T]]],
    keep: Callable[[Sequence[T]], Awaitable[list[T]]],
    page: PageParams,
) -> Window[T]:
    items: list[T] = []
    cursor = page.cursor
    for _round in range(TOP_UP_ROUNDS):
        window = await fetch(PageParams(limit=page.limit - len(items), cursor=cursor))
        items += await keep(window.items)
        cursor = window.next_cursor
        if len(items) >= page.limit or cursor is None:
            break
    return Window(items=items, next_cursor=cursor)


def id_text(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


async def audit(
    session: AsyncSession,
    org: OrgAccess,
    action: str,
    target: Target,
    *,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    changes = audit_rules.diff(before, after)
    await audit_service.record(session, org.actor, action, target=target, changes=changes)


async def count_projects(session: AsyncSession, org: OrgAccess) -> int:
    return await ProjectRepository(session, org.org_id).count()


async def stored_bytes(session: AsyncSession, org: OrgAccess) -> int:
    return await DocumentRepository(session, org.org_id).stored_bytes()


plans_service.register_meter("max_projects", count_projects)
plans_service.register_meter("max_storage_gb", stored_bytes)
