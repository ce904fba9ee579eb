"""The audit trail and its hash chains (ADR 0015).

``audit_logs`` is append-only: on PostgreSQL the runtime role holds no UPDATE, DELETE or
TRUNCATE on it; old entries leave only through the retention purge, a SECURITY DEFINER
function that refuses entries younger than the organization's retention. Each organization's
entries form one chain (platform entries, with no organization, another): ``seq`` counts
1, 2, 3... and ``hash = SHA-256(prev_hash || canonical JSON)`` (recipe in docs/audit.md).

``audit_chains`` is the moving part: one row per chain, the head (last ``seq`` and ``hash``)
that writers lock to serialize, and the anchor (last purged ``seq`` and ``hash``) that
verification starts from once the oldest entries are gone.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from keel.kit import clock
from keel.kit.db import Base, IdMixin

#: The chain id of platform entries (no organization).
PLATFORM_CHAIN = uuid.UUID(int=0)
#: ``prev_hash`` of a chain's first entry.
GENESIS = "0" * 64


class AuditLog(IdMixin, Base):
    __tablename__ = "audit_logs"
    __table_args__ = (
        # Organization first in every index: each filter of the query API is one range scan.
        Index("ix_audit_logs_organization_id_seq", "organization_id", "seq", unique=True),
        Index("ix_audit_logs_organization_id_occurred_at", "organization_id", "occurred_at"),
        Index("ix_audit_logs_organization_id_actor_id_seq", "organization_id", "actor_id", "seq"),
        Index("ix_audit_logs_organization_id_action_seq", "organization_id", "action", "seq"),
        Index(
            "ix_audit_logs_organization_id_target_seq",
            "organization_id",
            "target_type",
            "target_id",
            "seq",
        ),
        Index("ix_audit_logs_target", "target_type", "target_id"),
    )

    organization_id: Mapped[uuid.UUID | None]
    seq: Mapped[int] = mapped_column(BigInteger)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(64))
    #: The person behind the action (the user, or an API key's creator): joins the user's
    #: email and name into the query API in the same statement.
    actor_user_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(100))
    target_type: Mapped[str | None] = mapped_column(String(50))
    target_id: Mapped[str | None] = mapped_column(String(64))
    changes: Mapped[dict[str, Any] | None]
    context: Mapped[dict[str, Any] | None]
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    request_id: Mapped[str | None] = mapped_column(String(128))
    occurred_at: Mapped[datetime] = mapped_column(default=clock.now)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChain(Base):
    __tablename__ = "audit_chains"

    #: The organization's id, or :data:`PLATFORM_CHAIN`.
    chain_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    anchor_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    anchor_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)
    purged_at: Mapped[datetime | None]
