"""Documents, always reached through their project: a document of another project is 404."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access import service as access
from keel.access.rules import Resource
from keel.access.schemas import OrgAccess
from keel.audit import rules as audit_rules
from keel.audit.schemas import Target
from keel.events import service as events_service
from keel.kit.ids import new_id
from keel.kit.repository import Window
from keel.kit.schemas import PageParams
from keel.projects import rules
from keel.projects.errors import DocumentNotFound
from keel.projects.events import DocumentCreated, DocumentDeleted, DocumentUpdated
from keel.projects.models import Document, Project
from keel.projects.repository import DocumentRepository
from keel.projects.schemas import DocumentCreate, DocumentFilters, DocumentUpdate
from keel.projects.service import views
from keel.projects.service.projects import (
    ProjectLike,
    audit,
    get_project,
    id_text,
    read_scope,
    readable_project_view,
    top_up,
)
from keel.projects.service.views import DocumentView


async def create_document(
    session: AsyncSession, org: OrgAccess, project_id: uuid.UUID, data: DocumentCreate
) -> Document:
    project = await get_project(session, org, project_id)
    document = Document(
        id=new_id(),
        organization_id=org.org_id,
        project_id=project.id,
        title=data.title,
        body=data.body,
        classification=data.classification,
        tags=data.tags,
        shared_with=[str(user_id) for user_id in data.shared_with],
        owner_id=org.actor.user_id,
        attributes={},
    )
    access.ensure(org, "documents:write", _document_resource(org, project, document))
    await DocumentRepository(session, org.org_id).add(document)
    await audit(
        session,
        org,
        "document.created",
        _document_target(document),
        before={},
        after=_record(document),
    )
    await events_service.publish(
        session,
        DocumentCreated(
            organization_id=org.org_id,
            project_id=project.id,
            document_id=document.id,
            created_by=document.owner_id,
        ),
    )
    return document


async def get_document(
    session: AsyncSession, org: OrgAccess, project_id: uuid.UUID, document_id: uuid.UUID
) -> DocumentView:
    """The read path: cached views (:mod:`.views`), checked like rows."""
    project = await readable_project_view(session, org, project_id)
    document = await views.document(session, org, project.id, document_id)
    if document is None or not _may(org, "documents:read", project, document):
        raise DocumentNotFound()
    return document


async def list_documents(
    session: AsyncSession,
    org: OrgAccess,
    project_id: uuid.UUID,
    filters: DocumentFilters,
    page: PageParams,
) -> Window[DocumentView]:
    project = await readable_project_view(session, org, project_id)
    scope = read_scope(org, "documents:read")
    seen = rules.documents_visibility(scope, org.subject, project.team_id)

    async def fetch(part: PageParams) -> Window[DocumentView]:
        return await views.document_page(session, org, project.id, filters, seen=seen, page=part)

    async def keep(documents: Sequence[DocumentView]) -> list[DocumentView]:
        return [d for d in documents if _may(org, "documents:read", project, d)]

    return await top_up(fetch, keep, page)


async def update_document(
    session: AsyncSession,
    org: OrgAccess,
    project_id: uuid.UUID,
    document_id: uuid.UUID,
    data: DocumentUpdate,
) -> Document:
    project, document = await _readable_document(session, org, project_id, document_id)
    access.ensure(org, "documents:write", _document_resource(org, project, document))
    changes = data.changes()
    if "shared_with" in changes:
        changes["shared_with"] = [str(user_id) for user_id in changes["shared_with"]]
    # The document as it would be: no writing it into a classification one may not write.
    access.ensure(org, "documents:write", _document_resource(org, project, document, **changes))
    before = _record(document)
    for field, value in changes.items():
        setattr(document, field, value)
    diff = audit_rules.diff(before, _record(document))
    if not diff:
        return document
    await session.flush()
    await audit(
        session,
        org,
        "document.updated",
        _document_target(document),
        before=before,
        after=_record(document),
    )
    await events_service.publish(
        session,
        DocumentUpdated(
            organization_id=org.org_id,
            project_id=project.id,
            document_id=document.id,
            fields=sorted(diff),
        ),
    )
    return document


async def delete_document(
    session: AsyncSession, org: OrgAccess, project_id: uuid.UUID, document_id: uuid.UUID
) -> None:
    project, document = await _readable_document(session, org, project_id, document_id)
    access.ensure(org, "documents:delete", _document_resource(org, project, document))
    await audit(
        session,
        org,
        "document.deleted",
        _document_target(document),
        before=_record(document),
        after={},
    )
    await events_service.publish(
        session,
        DocumentDeleted(organization_id=org.org_id, project_id=project.id, document_id=document.id),
    )
    await DocumentRepository(session, org.org_id).delete(document)


# ---- reading rights ----------------------------------------------------------------------------


async def _readable_document(
    session: AsyncSession, org: OrgAccess, project_id: uuid.UUID, document_id: uuid.UUID
) -> tuple[Project, Document]:
    project = await get_project(session, org, project_id)
    document = await DocumentRepository(session, org.org_id).in_project(project.id, document_id)
    if document is None or not _may(org, "documents:read", project, document):
        raise DocumentNotFound()
    return project, document


def _may(
    org: OrgAccess, permission: str, project: ProjectLike, document: Document | DocumentView
) -> bool:
    return access.can(org, permission, _document_resource(org, project, document))


# ---- views for access checks and the audit log -------------------------------------------------


def _document_resource(
    org: OrgAccess, project: ProjectLike, document: Document | DocumentView, **changes: Any
) -> Resource:
    """``changes`` (from a PATCH) override the stored values: the document as it would be."""
    return rules.document_resource(
        organization_id=org.org_id,
        owner_id=document.owner_id,
        team_id=project.team_id,
        classification=changes.get("classification", document.classification),
        shared_with=changes.get("shared_with", document.shared_with),
        tags=changes.get("tags", document.tags),
    )


def _record(document: Document) -> dict[str, Any]:
    """The audited fields; the body only as a digest (restricted text stays out of the log)."""
    return {
        "title": document.title,
        "body": rules.body_digest(document.body),
        "classification": document.classification,
        "tags": list(document.tags),
        "shared_with": list(document.shared_with),
        "owner_id": id_text(document.owner_id),
    }


def _document_target(document: Document) -> Target:
    return Target(type="document", id=str(document.id), organization_id=document.organization_id)
