from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from keel.kit import clock
from keel.kit.db import Base, IdMixin


class EventRecord(IdMixin, Base):
    """The outbox: one row per published event, written in the publisher's transaction."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_organization_id_occurred_at", "organization_id", "occurred_at"),
        Index("ix_events_name_occurred_at", "name", "occurred_at"),
    )

    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(SmallInteger, default=1)
    organization_id: Mapped[uuid.UUID | None]
    payload: Mapped[dict[str, Any]]
    occurred_at: Mapped[datetime] = mapped_column(default=clock.now)
