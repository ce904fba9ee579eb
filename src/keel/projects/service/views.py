"""The read path's copies of projects and documents: plain snapshots kept in the near cache
(:mod:`keel.kit.near_cache`), each with its API answer already rendered.

Why: reading one document, or a page of them, is the request every tenant makes most, and a
round trip through the ORM and PostgreSQL cost it more than everything else together
(``bench/read_path.py``). What is cached is only what the database returned for the
*organization in the key* — rows fetched under that tenant's row-level security — and never
a decision: every hit goes through the same RBAC and ABAC checks as a miss, with the
caller's current role and policies (:mod:`keel.projects.service.documents`).

Staleness is bounded by explicit invalidation: any insert, update or delete of a project or
document row (and any bulk statement on their tables) drops what was derived from it, in
every process, when its transaction commits (the ``watch`` calls at the end).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import OrgAccess
from keel.kit import near_cache
from keel.kit.repository import Window
from keel.kit.schemas import PageParams
from keel.projects.models import Document, Project
from keel.projects.repository import DocumentRepository, ProjectRepository
from keel.projects.rules import Visibility
from keel.projects.schemas import DocumentFilters, DocumentRead

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class ProjectView:
    """What reading a project's documents needs of the project."""

    id: uuid.UUID
    organization_id: uuid.UUID
    owner_id: uuid.UUID | None
    team_id: uuid.UUID | None

    @classmethod
    def of(cls, project: Project) -> ProjectView:
        return cls(project.id, project.organization_id, project.owner_id, project.team_id)


@dataclass(frozen=True, slots=True)
class DocumentView:
    """A document's title, its access-check attributes and its ``DocumentRead`` JSON."""

    id: uuid.UUID
    organization_id: uuid.UUID
    project_id: uuid.UUID
    title: str
    owner_id: uuid.UUID | None
    classification: str
    tags: tuple[str, ...]
    shared_with: tuple[str, ...]
    json: bytes

    @classmethod
    def of(cls, document: Document) -> DocumentView:
        read = DocumentRead.model_validate(document, from_attributes=True)
        return cls(
            id=document.id,
            organization_id=document.organization_id,
            project_id=document.project_id,
            title=document.title,
            owner_id=document.owner_id,
            classification=document.classification,
            tags=tuple(document.tags),
            shared_with=tuple(document.shared_with),
            json=read.__pydantic_serializer__.to_json(read),
        )


async def project(
    session: AsyncSession, org: OrgAccess, project_id: uuid.UUID
) -> ProjectView | None:
    async def load() -> ProjectView | None:
        found = await ProjectRepository(session, org.org_id).get(project_id)
        return None if found is None else ProjectView.of(found)

    key = ("project", org.org_id, project_id)
    tags = (_project_tag(project_id), _PROJECTS_TABLE)
    return _in_org(org, await _cached(session, key, tags, load))


async def document(
    session: AsyncSession, org: OrgAccess, project_id: uuid.UUID, document_id: uuid.UUID
) -> DocumentView | None:
    async def load() -> DocumentView | None:
        found = await DocumentRepository(session, org.org_id).in_project(project_id, document_id)
        return None if found is None else DocumentView.of(found)

    key = ("document", org.org_id, document_id)
    tags = (_document_tag(document_id), _DOCUMENTS_TABLE)
    view = _in_org(org, await _cached(session, key, tags, load))
    return view if view is not None and view.project_id == project_id else None


async def document_page(
    session: AsyncSession,
    org: OrgAccess,
    project_id: uuid.UUID,
    filters: DocumentFilters,
    *,
    seen: Visibility,
    page: PageParams,
) -> Window[DocumentView]:
    """One window of the SQL-visible documents, before ABAC (which runs on every hit). A
    search (``q``) is not cached: its ranks and terms vary too much to be worth keeping."""

    async def load() -> Window[DocumentView]:
        rows = await DocumentRepository(session, org.org_id).page(project_id, filters, seen, page)
        return Window([DocumentView.of(d) for d in rows.items], rows.next_cursor)

    if filters.q is not None:
        return await load()
    key = (
        "documents",
        org.org_id,
        project_id,
        seen,
        (filters.classification, filters.owner_id, filters.tag),
        page.cursor,
        page.limit,
    )
    window = await _cached(session, key, (_documents_of(project_id), _DOCUMENTS_TABLE), load)
    if any(view.organization_id != org.org_id for view in window.items):
        raise AssertionError("a cached page crossed tenants")  # keys carry the organization
    return window


async def _cached(
    session: AsyncSession, key: Hashable, tags: tuple[str, ...], load: Callable[[], Awaitable[V]]
) -> V:
    return await near_cache.read_through(session, key, tags, load, size=_weight)


def _weight(value: object) -> int:
    """Roughly the bytes an entry holds: its rendered JSON dominates."""
    if isinstance(value, Window):
        return 128 + sum(_weight(item) for item in value.items)
    return 256 + len(value.json) if isinstance(value, DocumentView) else 256


def _in_org(org: OrgAccess, view: V | None) -> V | None:
    """The second wall, in code: a view of another organization is never handed out, even if
    a key were ever built wrong (every key carries ``org.org_id``)."""
    if view is not None and getattr(view, "organization_id", None) != org.org_id:
        raise AssertionError("a cached row crossed tenants")
    return view


def _project_tag(project_id: uuid.UUID) -> str:
    return f"project:{project_id}"


def _document_tag(document_id: uuid.UUID) -> str:
    return f"document:{document_id}"


def _documents_of(project_id: uuid.UUID) -> str:
    return f"project-documents:{project_id}"


_PROJECTS_TABLE = near_cache.table_tag(Project)
_DOCUMENTS_TABLE = near_cache.table_tag(Document)

near_cache.watch(Project, lambda p: (_project_tag(p.id), _documents_of(p.id)))
near_cache.watch(Document, lambda d: (_document_tag(d.id), _documents_of(d.project_id)))
