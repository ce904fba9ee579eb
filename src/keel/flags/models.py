"""Feature flags and the history of every change to them.

Flags are platform-wide (one definition serves every organization), so neither table has an
``organization_id`` and neither is under row-level security. The definition is stored as the
JSON that ``keel.flags.rules.parse_flag`` reads, in the normalized form
``keel.flags.schemas.flag_document`` writes, so one format exists from the API to the engine.

User ids (``created_by``, ``changed_by``...) carry no foreign key on purpose: flags sit below
users in the domain order, and a change's author must stay on record whatever happens to the
account later.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from keel.kit import clock
from keel.kit.db import Base, IdMixin, TimestampMixin

#: What a change did, as recorded in ``feature_flag_versions.action``.
CREATED, UPDATED, ENABLED, DISABLED, ROLLED_BACK, DELETED = (
    "created",
    "updated",
    "enabled",
    "disabled",
    "rolled_back",
    "deleted",
)


class FeatureFlag(IdMixin, TimestampMixin, Base):
    __tablename__ = "feature_flags"

    key: Mapped[str] = mapped_column(String(100), unique=True)
    definition: Mapped[dict[str, Any]]
    #: The number of the last change, the same as its row in ``feature_flag_versions``.
    version: Mapped[int]
    created_by: Mapped[uuid.UUID | None]
    updated_by: Mapped[uuid.UUID | None]


class FeatureFlagVersion(IdMixin, Base):
    """One row per change, never updated. Versions count per key, across a deletion and a
    re-creation, so a key's history is one timeline; ``flag_id`` says which incarnation."""

    __tablename__ = "feature_flag_versions"
    __table_args__ = (
        # One version by number, and the latest number of a key.
        UniqueConstraint("key", "version"),
        # A key's history, newest first.
        Index("ix_feature_flag_versions_key_id", "key", "id"),
    )

    flag_id: Mapped[uuid.UUID]
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    action: Mapped[str] = mapped_column(String(16))
    #: The whole definition after the change (before it, for a deletion).
    definition: Mapped[dict[str, Any]]
    #: ``{"targeting.rules": {"before": ..., "after": ...}, ...}``, one entry per changed field.
    diff: Mapped[dict[str, Any]]
    changed_by: Mapped[uuid.UUID | None]
    changed_at: Mapped[datetime] = mapped_column(default=clock.now)
