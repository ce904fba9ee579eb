"""Every query on ``projects`` and ``documents``, narrowed to one organization by the typed
proof (GUIDE §3.2), plus the dialect-specific parts kept out of the ORM models:

- full-text search: PostgreSQL matches the generated ``search_vector`` column (GIN index) with
  ``websearch_to_tsquery('english', q)`` ranked by ``ts_rank``; SQLite matches the FTS5 table
  ``documents_fts`` (joined on ``rowid``) ranked by ``bm25`` (negated, so higher is better on
  both, and titles weigh more than bodies as PostgreSQL's ``A``/``B`` weights do);
- JSON containment for ``shared_with`` and ``tags``: ``@>`` on PostgreSQL JSONB, ``json_each``
  on SQLite. The tag filter has no index of its own: it only narrows rows already found by the
  ``(organization_id, project_id, ...)`` indexes, and a GIN index on ``tags`` would pay off
  only for organization-wide tag searches, which Keel does not offer.

List queries stay on the composite indexes: ``(organization_id, project_id, id)`` for a
project's documents newest first, ``(..., classification, id)`` and ``(..., owner_id, id)``
when those filters are given; one query per page, never one per row.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    LargeBinary,
    Select,
    cast,
    column,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    tuple_,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import ColumnClause

from keel.kit.repository import InvalidCursor, TenantRepository, Window
from keel.kit.schemas import PageParams
from keel.projects import rules
from keel.projects.models import Document, Project
from keel.projects.rules import Visibility
from keel.projects.schemas import DocumentFilters, ProjectFilters

_FTS = table("documents_fts", column("rowid"))
_FTS_NAME: ColumnClause[Any] = literal_column("documents_fts")
_SEARCH_VECTOR: ColumnClause[Any] = literal_column("documents.search_vector")
_ENGLISH: ColumnClause[Any] = literal_column("'english'::regconfig")


def _on_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _json_contains(session: AsyncSession, json_column: Any, value: str) -> ColumnElement[bool]:
    """Whether the JSON array in ``json_column`` holds the string ``value``."""
    if _on_postgres(session):
        return type_coerce(json_column, JSONB).contains([value])
    each = func.json_each(json_column).table_valued("value")
    return select(each.c.value).where(each.c.value == value).exists()


class ProjectRepository(TenantRepository[Project]):
    model = Project

    async def count(self) -> int:
        stmt = (
            select(func.count()).select_from(Project).where(Project.organization_id == self.org_id)
        )
        return int(await self.session.scalar(stmt) or 0)

    async def page(
        self, filters: ProjectFilters, seen: Visibility, page: PageParams
    ) -> Window[Project]:
        stmt = self.base_statement().where(self._visible(seen))
        if filters.team_id is not None:
            stmt = stmt.where(Project.team_id == filters.team_id)
        if filters.owner_id is not None:
            stmt = stmt.where(Project.owner_id == filters.owner_id)
        if filters.q:
            # LIKE wildcards in the text are matched literally (autoescape).
            stmt = stmt.where(func.lower(Project.name).contains(filters.q.lower(), autoescape=True))
        return await self.paginate(stmt, page)

    async def reached_through_documents(
        self, project_ids: list[uuid.UUID], user_id: uuid.UUID
    ) -> set[uuid.UUID]:
        """Which of ``project_ids`` hold a document owned by or shared with ``user_id`` (one
        query for a whole page)."""
        if not project_ids:
            return set()
        stmt = (
            select(Document.project_id)
            .where(Document.organization_id == self.org_id, Document.project_id.in_(project_ids))
            .where(
                or_(
                    Document.owner_id == user_id,
                    _json_contains(self.session, Document.shared_with, str(user_id)),
                )
            )
            .distinct()
        )
        return set((await self.session.scalars(stmt)).all())

    async def delete(self, project: Project) -> None:
        """Its documents go with it (``ON DELETE CASCADE``; the FTS triggers follow)."""
        await self.session.delete(project)
        await self.session.flush()

    def _visible(self, seen: Visibility) -> ColumnElement[bool]:
        if seen.everything:
            return literal(True)
        if seen.owner_id is None:
            return false()
        reach: list[ColumnElement[bool]] = [Project.owner_id == seen.owner_id]
        if seen.team_ids:
            reach.append(Project.team_id.in_(seen.team_ids))
        if seen.shared:
            reach.append(self._reached_by(seen.owner_id))
        return or_(*reach)

    def _reached_by(self, user_id: uuid.UUID) -> ColumnElement[bool]:
        return (
            select(Document.id)
            .where(Document.organization_id == self.org_id, Document.project_id == Project.id)
            .where(
                or_(
                    Document.owner_id == user_id,
                    _json_contains(self.session, Document.shared_with, str(user_id)),
                )
            )
            .exists()
        )


class DocumentRepository(TenantRepository[Document]):
    model = Document

    async def stored_bytes(self) -> int:
        """UTF-8 bytes of every document body of the organization (the storage meter)."""
        if self.session.get_bind().dialect.name == "postgresql":
            size = func.octet_length(Document.body)
        else:
            size = func.length(cast(Document.body, LargeBinary))
        stmt = select(func.coalesce(func.sum(size), 0)).where(
            Document.organization_id == self.org_id
        )
        return int(await self.session.scalar(stmt) or 0)

    async def in_project(self, project_id: uuid.UUID, document_id: uuid.UUID) -> Document | None:
        stmt = self.base_statement().where(
            Document.project_id == project_id, Document.id == document_id
        )
        found: Document | None = await self.session.scalar(stmt)
        return found

    async def page(
        self, project_id: uuid.UUID, filters: DocumentFilters, seen: Visibility, page: PageParams
    ) -> Window[Document]:
        """Newest first, or by rank when ``filters.q`` is given (a search cursor then)."""
        stmt = self.base_statement().where(Document.project_id == project_id)
        stmt = stmt.where(self._visible(seen))
        if filters.classification is not None:
            stmt = stmt.where(Document.classification == filters.classification)
        if filters.owner_id is not None:
            stmt = stmt.where(Document.owner_id == filters.owner_id)
        if filters.tag is not None:
            stmt = stmt.where(_json_contains(self.session, Document.tags, filters.tag))
        if filters.q is None:
            return await self.paginate(stmt, page)
        return await self._search(stmt, filters.q, page)

    async def delete(self, document: Document) -> None:
        await self.session.delete(document)
        await self.session.flush()

    def _visible(self, seen: Visibility) -> ColumnElement[bool]:
        if seen.everything:
            return literal(True)
        if seen.owner_id is None:
            return false()
        reach: list[ColumnElement[bool]] = [Document.owner_id == seen.owner_id]
        if seen.shared:
            reach.append(_json_contains(self.session, Document.shared_with, str(seen.owner_id)))
        return or_(*reach)

    # ---- full-text search ----------------------------------------------------------------------

    async def _search(self, stmt: Select[Any], q: str, page: PageParams) -> Window[Document]:
        """Keyset over (rank, id): ranks are recomputed identically on every page."""
        matched = self._match(stmt, q)
        if matched is None:
            return Window(items=[], next_cursor=None)
        stmt, rank = matched
        if page.cursor is not None:
            after_rank, after_id = _decode_search_cursor(page.cursor)
            bound = tuple_(literal(after_rank, Float), literal(after_id, Document.id.type))
            stmt = stmt.where(tuple_(rank, Document.id) < bound)
        stmt = stmt.add_columns(rank).order_by(rank.desc(), Document.id.desc())
        rows = (await self.session.execute(stmt.limit(page.limit + 1))).all()
        items = [row[0] for row in rows[: page.limit]]
        more = len(rows) > page.limit
        last = rows[page.limit - 1] if more else None
        cursor = _encode_search_cursor(float(last[1]), last[0].id) if last is not None else None
        return Window(items=items, next_cursor=cursor)

    def _match(self, stmt: Select[Any], q: str) -> tuple[Select[Any], ColumnElement[float]] | None:
        if _on_postgres(self.session):
            query = func.websearch_to_tsquery(_ENGLISH, q)
            rank = cast(func.ts_rank(_SEARCH_VECTOR, query), Float)
            return stmt.where(_SEARCH_VECTOR.op("@@")(query)), rank
        expression = rules.fts5_query(q)
        if expression is None:
            return None
        stmt = stmt.join(_FTS, _FTS.c.rowid == literal_column("documents.rowid"))
        rank = cast(-func.bm25(_FTS_NAME, 10.0, 1.0), Float)
        return stmt.where(_FTS_NAME.op("MATCH")(expression)), rank


def _encode_search_cursor(rank: float, id_: uuid.UUID) -> str:
    raw = json.dumps(["rank", rank, str(id_)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_search_cursor(cursor: str) -> tuple[float, uuid.UUID]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != 3 or raw[0] != "rank":
            raise ValueError("not a search cursor")
        if not isinstance(raw[1], int | float) or isinstance(raw[1], bool):
            raise ValueError("rank is not a number")
        return float(raw[1]), uuid.UUID(str(raw[2]))
    except (ValueError, TypeError) as exc:
        raise InvalidCursor(
            "The cursor is not valid for this search; request the first page without one.",
            errors=[{"field": "query.cursor", "message": "not a cursor issued by this search"}],
        ) from exc
