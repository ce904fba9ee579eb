"""Projects and their documents: the core domain every team copies.

Full-text search is dialect-specific and kept out of the ORM models (so ``alembic check`` stays
clean on both): PostgreSQL gets a generated ``search_vector tsvector`` column on ``documents``
with a GIN index; SQLite gets an external-content FTS5 table ``documents_fts`` kept in step by
triggers. Both are created in the migration; ``migrations/env.py`` tells autogenerate to leave
them alone.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from keel.kit.db import Base, IdMixin, JSONDocument, TimestampMixin

CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")


class Project(IdMixin, TimestampMixin, Base):
    __tablename__ = "projects"
    __table_args__ = (
        Index("ix_projects_organization_id_id", "organization_id", "id"),
        Index("ix_projects_organization_id_team_id", "organization_id", "team_id"),
        Index("ix_projects_organization_id_owner_id", "organization_id", "owner_id"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Document(IdMixin, TimestampMixin, Base):
    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_organization_id_project_id_id", "organization_id", "project_id", "id"),
        Index(
            "ix_documents_organization_id_project_id_classification",
            "organization_id",
            "project_id",
            "classification",
            "id",
        ),
        Index(
            "ix_documents_organization_id_project_id_owner_id",
            "organization_id",
            "project_id",
            "owner_id",
            "id",
        ),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    classification: Mapped[str] = mapped_column(String(16), default="internal")
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    tags: Mapped[list[str]] = mapped_column(JSONDocument(), default=list)
    #: Users a document is shared with (the ``shared`` scope of guests).
    shared_with: Mapped[list[str]] = mapped_column(JSONDocument(), default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
