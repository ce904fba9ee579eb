"""``/api/v1/orgs/{org_id}/projects`` and their ``/documents``: parse, call the service, return."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import Depends, Query, Response

from keel.auth.dependencies import Idempotent
from keel.kit.deps import DbSession
from keel.kit.repository import Window
from keel.kit.routing import api_router
from keel.kit.schemas import Page, Pagination
from keel.projects import service
from keel.projects.dependencies import (
    CanDeleteDocuments,
    CanDeleteProjects,
    CanReadDocuments,
    CanReadProjects,
    CanWriteDocuments,
    CanWriteProjects,
)
from keel.projects.models import Document, Project
from keel.projects.schemas import (
    Classification,
    DocumentCreate,
    DocumentFilters,
    DocumentRead,
    DocumentUpdate,
    ProjectCreate,
    ProjectFilters,
    ProjectRead,
    ProjectUpdate,
)

router = api_router(tags=["projects"])

PROJECTS = "/orgs/{org_id}/projects"
PROJECT = PROJECTS + "/{project_id}"
DOCUMENTS = PROJECT + "/documents"
DOCUMENT = DOCUMENTS + "/{document_id}"


async def project_filters(
    team_id: Annotated[uuid.UUID | None, Query(description="Only this team's projects.")] = None,
    owner_id: Annotated[uuid.UUID | None, Query(description="Only this user's projects.")] = None,
) -> ProjectFilters:
    return ProjectFilters(team_id=team_id, owner_id=owner_id)


async def document_filters(
    classification: Annotated[Classification | None, Query()] = None,
    owner_id: Annotated[uuid.UUID | None, Query()] = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Full-text search in titles and bodies; results are ranked.",
        ),
    ] = None,
) -> DocumentFilters:
    return DocumentFilters(classification=classification, owner_id=owner_id, tag=tag, q=q)


ProjectQuery = Annotated[ProjectFilters, Depends(project_filters)]
DocumentQuery = Annotated[DocumentFilters, Depends(document_filters)]


def _project_page(window: Window[Project]) -> Page[ProjectRead]:
    items = [ProjectRead.model_validate(p, from_attributes=True) for p in window.items]
    return Page[ProjectRead](items=items, next_cursor=window.next_cursor)


def _json(body: bytes) -> Response:
    """The read path hands out documents already rendered (``service.views``), as
    ``DocumentRead`` JSON: the declared ``response_model`` documents them."""
    return Response(content=body, media_type="application/json")


def _document(document: Document) -> DocumentRead:
    return DocumentRead.model_validate(document, from_attributes=True)


# ---- projects ----------------------------------------------------------------------------------


@router.post(PROJECTS, status_code=201, response_model=ProjectRead)
async def create_project(
    body: ProjectCreate, org: CanWriteProjects, db: DbSession, idempotency: Idempotent
) -> Project:
    return await service.create_project(db, org, body)


@router.get(PROJECTS, response_model=Page[ProjectRead])
async def list_projects(
    org: CanReadProjects, db: DbSession, filters: ProjectQuery, page: Pagination
) -> Page[ProjectRead]:
    return _project_page(await service.list_projects(db, org, filters, page))


@router.get(PROJECT, response_model=ProjectRead)
async def read_project(project_id: uuid.UUID, org: CanReadProjects, db: DbSession) -> Project:
    return await service.get_project(db, org, project_id)


@router.patch(PROJECT, response_model=ProjectRead)
async def update_project(
    project_id: uuid.UUID, body: ProjectUpdate, org: CanWriteProjects, db: DbSession
) -> Project:
    return await service.update_project(db, org, project_id, body)


@router.delete(PROJECT, status_code=204)
async def delete_project(project_id: uuid.UUID, org: CanDeleteProjects, db: DbSession) -> Response:
    await service.delete_project(db, org, project_id)
    return Response(status_code=204)


# ---- documents ---------------------------------------------------------------------------------


@router.post(DOCUMENTS, status_code=201, response_model=DocumentRead)
async def create_document(
    project_id: uuid.UUID,
    body: DocumentCreate,
    org: CanWriteDocuments,
    db: DbSession,
    idempotency: Idempotent,
) -> DocumentRead:
    return _document(await service.create_document(db, org, project_id, body))


@router.get(DOCUMENTS, response_model=Page[DocumentRead])
async def list_documents(
    project_id: uuid.UUID,
    org: CanReadDocuments,
    db: DbSession,
    filters: DocumentQuery,
    page: Pagination,
) -> Response:
    window = await service.list_documents(db, org, project_id, filters, page)
    items = b",".join(view.json for view in window.items)
    cursor = json.dumps(window.next_cursor).encode()
    return _json(b'{"items":[' + items + b'],"next_cursor":' + cursor + b"}")


@router.get(DOCUMENT, response_model=DocumentRead)
async def read_document(
    project_id: uuid.UUID, document_id: uuid.UUID, org: CanReadDocuments, db: DbSession
) -> Response:
    return _json((await service.get_document(db, org, project_id, document_id)).json)


@router.patch(DOCUMENT, response_model=DocumentRead)
async def update_document(
    project_id: uuid.UUID,
    document_id: uuid.UUID,
    body: DocumentUpdate,
    org: CanWriteDocuments,
    db: DbSession,
) -> DocumentRead:
    return _document(await service.update_document(db, org, project_id, document_id, body))


@router.delete(DOCUMENT, status_code=204)
async def delete_document(
    project_id: uuid.UUID, document_id: uuid.UUID, org: CanDeleteDocuments, db: DbSession
) -> Response:
    await service.delete_document(db, org, project_id, document_id)
    return Response(status_code=204)
