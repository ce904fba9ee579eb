"""The signed-in product under ``/app``: the dashboard of an organization and the document
form on it. Another tenant's organization is the 404 page (``WebMember``)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from keel.access.schemas import OrgAccess
from keel.kit.deps import DbSession
from keel.projects.schemas import DocumentCreate
from keel.web import rules, service
from keel.web.dependencies import (
    CanWriteDocumentsPage,
    OrgShell,
    WebForm,
    WebMember,
    WebState,
    WebUser,
)
from keel.web.pages.common import is_htmx, schema_errors
from keel.web.pages.render import redirect, render
from keel.web.service import workspace
from keel.web.service.shell import Shell

router = APIRouter(prefix="/app")


@router.get("")
async def app_home(request: Request, state: WebState, user: WebUser, db: DbSession) -> Response:
    org_id = await service.first_organization(db, user.id)
    if org_id is None:
        return render(request, "pages/no_organization.html", state, user=user, org=None)
    return redirect(request, _dashboard_url(org_id))


@router.get("/{org_id}/dashboard")
async def dashboard(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    org: WebMember,
    user: WebUser,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    return await _dashboard_page(request, state, org=org, shell=shell, db=db)


@router.post("/{org_id}/documents")
async def create_document(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    org: CanWriteDocumentsPage,
    user: WebUser,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    title = form.get("title", "")
    try:
        data = DocumentCreate(title=title, body=form.get("body", ""))
    except ValidationError as exc:
        errors = schema_errors(exc)
        return await _dashboard_page(
            request,
            state,
            org=org,
            shell=shell,
            db=db,
            status_code=422,
            errors=errors,
            values={"title": title},
        )
    await service.add_document(db, org, data)
    return redirect(request, _dashboard_url(org_id), notice=f"Document “{data.title}” added.")


async def _dashboard_page(
    request: Request,
    state: rules.WebSession,
    *,
    org: OrgAccess,
    shell: Shell,
    db: DbSession,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """The dashboard; an htmx request (a checklist button's redirect, followed) gets the same
    page with focus set on the checklist it swaps in."""
    view = await service.dashboard(db, org, shell.user)
    return render(
        request,
        "pages/dashboard.html",
        state,
        status_code=status_code,
        shell=shell,
        nav="dashboard",
        project=view.project,
        documents=view.documents,
        projects=view.projects,
        more_projects=view.more_projects,
        checklist=workspace.checklist(shell.user),
        focus_checklist=is_htmx(request),
        next=_dashboard_url(org.org_id),
        usage=await workspace.usage(db, org),
        errors=errors or {},
        values=values or {},
    )


def _dashboard_url(org_id: uuid.UUID) -> str:
    return f"/app/{org_id}/dashboard"
