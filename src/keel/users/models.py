from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, false
from sqlalchemy.orm import Mapped, mapped_column

from keel.kit.db import Base, IdMixin, TimestampMixin

ACTIVE, DISABLED = "active", "disabled"


class User(IdMixin, TimestampMixin, Base):
    """A person. ``email`` is stored normalized (lower-cased, IDNA domain), so the unique
    constraint makes addresses that differ only in case one account."""

    __tablename__ = "users"
    #: Alerts go to every superadmin: found without reading the whole table.
    __table_args__ = (Index("ix_users_is_superadmin", "is_superadmin"),)

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    email_verified_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    is_superadmin: Mapped[bool] = mapped_column(default=False, server_default=false())
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    erasure_requested_at: Mapped[datetime | None]
    #: The onboarding checklist: step name -> "done" | "skipped" (None: nothing yet).
    onboarding_steps: Mapped[dict[str, Any] | None]
    onboarding_completed_at: Mapped[datetime | None]
