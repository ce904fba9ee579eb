"""Outbound webhooks: where an organization's events go, what was sent and how it went.

- ``webhook_endpoints``: a target. ``kind`` is ``webhook`` (signed per Standard Webhooks) or
  ``slack`` (an incoming-webhook URL; at most one per organization). Secrets are stored
  encrypted (they must be recovered to sign), the previous one kept until its grace ends.
- ``webhook_messages``: one per event per organization; ``id`` is the ``webhook-id`` and
  ``body`` the exact bytes signed, so every retry and redelivery sends the same message.
- ``webhook_deliveries``: one message to one endpoint; the unit the log lists, retried on its
  schedule, claimed by the delivery job when due.
- ``webhook_attempts``: each HTTP try of a delivery (status, latency, response excerpt).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from keel.kit import clock
from keel.kit.db import Base, IdMixin, JSONDocument, TimestampMixin

WEBHOOK, SLACK = "webhook", "slack"
PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"


class WebhookEndpoint(IdMixin, TimestampMixin, Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        Index("ix_webhook_endpoints_organization_id_kind_id", "organization_id", "kind", "id"),
        # One Slack integration per organization: the database, not a lookup, makes it so.
        Index(
            "uq_webhook_endpoints_organization_id_slack",
            "organization_id",
            unique=True,
            sqlite_where=text("kind = 'slack'"),
            postgresql_where=text("kind = 'slack'"),
        ),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16), default=WEBHOOK)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(500))
    #: Event names this endpoint receives; empty: every event.
    event_types: Mapped[list[str]] = mapped_column(JSONDocument(), default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    #: ``manual``, ``gone`` (answered 410) or ``failing`` (failed for days).
    disabled_reason: Mapped[str | None] = mapped_column(String(16))
    disabled_at: Mapped[datetime | None]
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    previous_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_expires_at: Mapped[datetime | None]
    #: Start of the current run of failed attempts (None after any success).
    failing_since: Mapped[datetime | None]


class WebhookMessage(Base):
    __tablename__ = "webhook_messages"
    __table_args__ = (
        UniqueConstraint("organization_id", "event_id"),
        Index("ix_webhook_messages_organization_id_created_at", "organization_id", "created_at"),
        # The retention purge's sweep for old messages no delivery refers to any more.
        Index("ix_webhook_messages_created_at", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    #: The event behind it; None for a test ping.
    event_id: Mapped[uuid.UUID | None]
    event_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    occurred_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class WebhookDelivery(IdMixin, Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "message_id"),
        Index(
            "ix_webhook_deliveries_organization_id_endpoint_id_id",
            "organization_id",
            "endpoint_id",
            "id",
        ),
        Index(
            "ix_webhook_deliveries_organization_id_endpoint_id_status_id",
            "organization_id",
            "endpoint_id",
            "status",
            "id",
        ),
        Index(
            "ix_webhook_deliveries_organization_id_endpoint_id_event_type_id",
            "organization_id",
            "endpoint_id",
            "event_type",
            "id",
        ),
        # What the delivery job claims, and what the overdue sweep looks for.
        Index(
            "ix_webhook_deliveries_endpoint_id_status_next_attempt_at",
            "endpoint_id",
            "status",
            "next_attempt_at",
        ),
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        # The retention purge: old deliveries, and whether a message is still referred to
        # (also what deleting a message checks for its ON DELETE CASCADE).
        Index("ix_webhook_deliveries_created_at", "created_at"),
        Index("ix_webhook_deliveries_message_id", "message_id"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_messages.id", ondelete="CASCADE")
    )
    event_type: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    next_attempt_at: Mapped[datetime | None]
    #: Claimed by a delivery job until then (its requests are in flight); a job that died
    #: leaves it to expire, and the delivery is claimed again.
    locked_until: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    last_response_status: Mapped[int | None] = mapped_column(SmallInteger)
    #: When the event occurred, kept here so the lag metric needs no join.
    occurred_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    delivered_at: Mapped[datetime | None]


class WebhookAttempt(IdMixin, Base):
    __tablename__ = "webhook_attempts"
    __table_args__ = (
        # A delivery's attempts, and the cascade when its endpoint is deleted.
        Index("ix_webhook_attempts_delivery_id_id", "delivery_id", "id"),
        Index("ix_webhook_attempts_organization_id_started_at", "organization_id", "started_at"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    number: Mapped[int] = mapped_column(SmallInteger)
    started_at: Mapped[datetime]
    succeeded: Mapped[bool]
    response_status: Mapped[int | None] = mapped_column(SmallInteger)
    latency_ms: Mapped[int]
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(String(500))
