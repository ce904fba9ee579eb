"""In-app notifications and email preferences: both belong to a user, not to a tenant.

``notifications.organization_id`` only says which organization a notice is about (a limit,
an invitation); the row is the user's, read only through its ``user_id``, so the table is
not a tenant table and has no row-level security (``tenancy_checks.EXEMPT``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from keel.kit import clock
from keel.kit.db import Base, IdMixin


class Notification(IdMixin, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        # The inbox, newest first (ids are UUIDv7: creation order).
        Index("ix_notifications_user_id_id", "user_id", "id"),
        # The unread count and the unread-only list.
        Index("ix_notifications_user_id_read_at_id", "user_id", "read_at", "id"),
        # The retention purge.
        Index("ix_notifications_created_at", "created_at"),
        # An organization's deletion cascades here.
        Index("ix_notifications_organization_id", "organization_id"),
        # A handler run twice (same event) creates the notice once.
        UniqueConstraint("user_id", "dedupe_key"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(2000))
    link: Mapped[str | None] = mapped_column(String(2000))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    read_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class EmailUnsubscription(Base):
    """One row per (user, category) the user turned off; no row: subscribed."""

    __tablename__ = "email_unsubscriptions"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
