"""A project's documents: adding one from the project's page, a document's page (read, and
the edit form when the caller may change it), deleting it after a confirmation."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from keel.kit.deps import DbSession
from keel.projects import service as projects_service
from keel.projects.schemas import DocumentCreate, DocumentUpdate
from keel.web import rules
from keel.web.dependencies import CanWriteDocumentsPage, OrgShell, WebForm, WebState
from keel.web.pages.common import confirm_page, schema_errors
from keel.web.pages.render import render
from keel.web.pages.workspace.common import (
    CanDeleteDocumentsPage,
    CanReadDocumentsPage,
    document_values,
    finish,
    project_url,
)
from keel.web.pages.workspace.projects import render_project
from keel.web.service import workspace
from keel.web.service.shell import Shell

router = APIRouter()


@router.post("/app/{org_id}/projects/{project_id}/documents")
async def create_document(
    request: Request,
    *,
    org_id: uuid.UUID,
    project_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    org: CanWriteDocumentsPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    values = document_values(form)
    try:
        data = DocumentCreate(**values)
    except ValidationError as exc:
        view = await workspace.project_page(db, org, project_id, q=None, cursor=None)
        errors = schema_errors(exc)
        return render_project(request, state, shell=shell, view=view, errors=errors, values=values)
    document = await projects_service.create_document(db, org, project_id, data)
    url = project_url(org_id, project_id)
    return finish(request, url, notice=f"Document “{document.title}” added.")


@router.get("/app/{org_id}/projects/{project_id}/documents/{document_id}")
async def document_page(
    request: Request,
    *,
    org_id: uuid.UUID,
    project_id: uuid.UUID,
    document_id: uuid.UUID,
    state: WebState,
    org: CanReadDocumentsPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    view = await workspace.document_page(db, org, project_id, document_id)
    document = view.document
    values = {
        "title": document.title,
        "body": document.body,
        "classification": document.classification,
    }
    return _render_document(request, state, shell=shell, view=view, values=values)


@router.post("/app/{org_id}/projects/{project_id}/documents/{document_id}")
async def update_document(
    request: Request,
    *,
    org_id: uuid.UUID,
    project_id: uuid.UUID,
    document_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    org: CanWriteDocumentsPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    values = document_values(form)
    try:
        data = DocumentUpdate(**values)
    except ValidationError as exc:
        view = await workspace.document_page(db, org, project_id, document_id)
        errors = schema_errors(exc)
        return _render_document(
            request, state, shell=shell, view=view, values=values, errors=errors
        )
    await projects_service.update_document(db, org, project_id, document_id, data)
    url = project_url(org_id, project_id, "documents", document_id)
    return finish(request, url, notice="Document saved.")


@router.get("/app/{org_id}/projects/{project_id}/documents/{document_id}/delete")
async def confirm_delete_document(
    request: Request,
    *,
    org_id: uuid.UUID,
    project_id: uuid.UUID,
    document_id: uuid.UUID,
    state: WebState,
    org: CanDeleteDocumentsPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    view = await workspace.document_page(db, org, project_id, document_id)
    url = project_url(org_id, project_id, "documents", document_id)
    return confirm_page(
        request,
        state,
        area="workspace",
        shell=shell,
        nav="projects",
        title=f"Delete the document “{view.document.title}”?",
        text="This cannot be undone.",
        action=f"{url}/delete",
        back=url,
    )


@router.post("/app/{org_id}/projects/{project_id}/documents/{document_id}/delete")
async def delete_document(
    request: Request,
    *,
    org_id: uuid.UUID,
    project_id: uuid.UUID,
    document_id: uuid.UUID,
    org: CanDeleteDocumentsPage,
    db: DbSession,
) -> Response:
    await projects_service.delete_document(db, org, project_id, document_id)
    return finish(request, project_url(org_id, project_id), notice="Document deleted.")


def _render_document(
    request: Request,
    state: rules.WebSession,
    *,
    shell: Shell,
    view: workspace.DocumentPage,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "pages/workspace/document.html",
        state,
        status_code=422 if errors else 200,
        shell=shell,
        nav="projects",
        project=view.project,
        document=view.document,
        can=view.can,
        classifications=workspace.CLASSIFICATIONS,
        values=values,
        errors=errors or {},
    )
