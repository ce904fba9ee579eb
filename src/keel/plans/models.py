"""The plan catalog (platform-wide), per-organization overrides and usage counters.

``plan_overrides`` and ``usage_counters`` are tenant tables: ``organization_id`` not null, first
in their unique key, behind forced row-level security on PostgreSQL.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from keel.kit.db import Base, IdMixin, TimestampMixin


class Plan(IdMixin, TimestampMixin, Base):
    __tablename__ = "plans"

    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(500))
    price_monthly_cents: Mapped[int]
    price_annual_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    #: Every feature of :data:`keel.plans.rules.FEATURES`, by name.
    features: Mapped[dict[str, Any]]
    #: ``{group: {"limit": n, "window_seconds": s} | null}``.
    rate_limits: Mapped[dict[str, Any]]
    #: Shown on the pricing page and offered as an upgrade.
    public: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)


class PlanOverride(IdMixin, TimestampMixin, Base):
    """An enterprise deal: features and rate-limit groups that replace the plan's."""

    __tablename__ = "plan_overrides"
    __table_args__ = (UniqueConstraint("organization_id"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    features: Mapped[dict[str, Any]]
    rate_limits: Mapped[dict[str, Any]]
    note: Mapped[str | None] = mapped_column(String(500))
    updated_by: Mapped[uuid.UUID | None]


class UsageCounter(IdMixin, Base):
    """A metered count of one organization in one period (``2026-11`` for a month)."""

    __tablename__ = "usage_counters"
    __table_args__ = (UniqueConstraint("organization_id", "metric", "period"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    metric: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16))
    value: Mapped[int] = mapped_column(BigInteger, default=0)
