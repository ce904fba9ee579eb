"""``/app/{org_id}/projects``: the list with search and paging, the "New project" form
(htmx, so the free plan's limit opens the upgrade prompt over the page), a project's page
with its documents, editing and deleting it."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from keel.access import service as access
from keel.access.schemas import OrgAccess
from keel.kit.deps import DbSession
from keel.projects import service as projects_service
from keel.projects.models import Project
from keel.projects.schemas import ProjectCreate, ProjectUpdate
from keel.web import rules
from keel.web.dependencies import OrgShell, WebForm, WebState
from keel.web.pages.common import confirm_page, schema_errors
from keel.web.pages.render import render
from keel.web.pages.workspace.common import (
    CanDeleteProjectsPage,
    CanReadProjectsPage,
    CanWriteProjectsPage,
    Cursor,
    Search,
    finish,
    form_values,
    project_url,
    search_url,
)
from keel.web.service import workspace
from keel.web.service.shell import Shell

router = APIRouter()


@router.get("/app/{org_id}/projects")
async def projects_page(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    org: CanReadProjectsPage,
    shell: OrgShell,
    db: DbSession,
    q: Search = None,
    cursor: Cursor = None,
) -> Response:
    return await _projects_page(request, state, shell=shell, db=db, org=org, q=q, cursor=cursor)


@router.post("/app/{org_id}/projects")
async def create_project(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    org: CanWriteProjectsPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    values = form_values(form, "name", "description")
    try:
        data = ProjectCreate(name=values["name"], description=values["description"] or None)
    except ValidationError as exc:
        return await _projects_page(
            request, state, shell=shell, db=db, org=org, errors=schema_errors(exc), values=values
        )
    project = await projects_service.create_project(db, org, data)
    url = project_url(org_id, project.id)
    return finish(request, url, notice=f"Project “{project.name}” created.")


@router.get("/app/{org_id}/projects/{project_id}")
async def project_page(
    request: Request,
    *,
    org_id: uuid.UUID,
    project_id: uuid.UUID,
    state: WebState,
    org: CanReadProjectsPage,
    shell: OrgShell,
    db: DbSession,
    q: Search = None,
    cursor: Cursor = None,
) -> Response:
    search = workspace.search_text(q)
    view = await workspace.project_page(db, org, project_id, q=search, cursor=cursor)
    return render_project(request, state, shell=shell, view=view, q=search)


@router.get("/app/{org_id}/projects/{project_id}/edit")
async def edit_project_page(
    request: Request,
    *,
    org_id: uuid.UUID,
    project_id: uuid.UUID,
    state: WebState,
    org: CanWriteProjectsPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    project = await projects_service.get_project(db, org, project_id)
    values = {"name": project.name, "description": project.description or ""}
    return _render_edit(request, state, shell=shell, project=project, values=values)


@router.post("/app/{org_id}/projects/{project_id}/edit")
async def update_project(
    request: Request,
    *,
    org_id: uuid.UUID,
    project_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    org: CanWriteProjectsPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    values = form_values(form, "name", "description")
    try:
        data = ProjectUpdate(name=values["name"], description=values["description"] or None)
    except ValidationError as exc:
        project = await projects_service.get_project(db, org, project_id)
        errors = schema_errors(exc)
        return _render_edit(
            request, state, shell=shell, project=project, values=values, errors=errors
        )
    project = await projects_service.update_project(db, org, project_id, data)
    return finish(request, project_url(org_id, project.id), notice="Project saved.")


@router.get("/app/{org_id}/projects/{project_id}/delete")
async def confirm_delete_project(
    request: Request,
    *,
    org_id: uuid.UUID,
    project_id: uuid.UUID,
    state: WebState,
    org: CanDeleteProjectsPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    project = await projects_service.get_project(db, org, project_id)
    return confirm_page(
        request,
        state,
        area="workspace",
        shell=shell,
        nav="projects",
        title=f"Delete the project “{project.name}”?",
        text="Its documents are deleted with it. This cannot be undone.",
        action=project_url(org_id, project.id, "delete"),
        back=project_url(org_id, project.id),
    )


@router.post("/app/{org_id}/projects/{project_id}/delete")
async def delete_project(
    request: Request,
    *,
    org_id: uuid.UUID,
    project_id: uuid.UUID,
    org: CanDeleteProjectsPage,
    db: DbSession,
) -> Response:
    project = await projects_service.get_project(db, org, project_id)
    await projects_service.delete_project(db, org, project.id)
    url = f"/app/{org_id}/projects"
    return finish(request, url, notice=f"Project “{project.name}” deleted.")


async def _projects_page(
    request: Request,
    state: rules.WebSession,
    *,
    shell: Shell,
    db: DbSession,
    org: OrgAccess,
    q: str | None = None,
    cursor: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    search = workspace.search_text(q)
    window = await workspace.projects(db, org, q=search, cursor=cursor)
    return render(
        request,
        "pages/workspace/projects.html",
        state,
        status_code=422 if errors else 200,
        shell=shell,
        nav="projects",
        projects=window.items,
        next_cursor=window.next_cursor,
        page_url=search_url(f"/app/{org.org_id}/projects", search),
        q=search or "",
        can_create=access.holds_somewhere(org, "projects:write"),
        errors=errors or {},
        values=values or {},
    )


def render_project(
    request: Request,
    state: rules.WebSession,
    *,
    shell: Shell,
    view: workspace.ProjectPage,
    q: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """A project's page; with ``errors``, its "New document" form refused (422)."""
    base = project_url(view.project.organization_id, view.project.id)
    return render(
        request,
        "pages/workspace/project.html",
        state,
        status_code=422 if errors else 200,
        shell=shell,
        nav="projects",
        project=view.project,
        documents=view.documents,
        can=view.can,
        page_url=search_url(base, q),
        q=q or "",
        classifications=workspace.CLASSIFICATIONS,
        errors=errors or {},
        values=values or {"classification": "internal"},
    )


def _render_edit(
    request: Request,
    state: rules.WebSession,
    *,
    shell: Shell,
    project: Project,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "pages/workspace/project_edit.html",
        state,
        status_code=422 if errors else 200,
        shell=shell,
        nav="projects",
        project=project,
        values=values,
        errors=errors or {},
    )
