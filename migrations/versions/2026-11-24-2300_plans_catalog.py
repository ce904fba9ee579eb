"""plans: the plan catalog (seeded with the four tiers), per-organization overrides and usage
counters; row-level security on the two tenant tables on PostgreSQL.

Revision ID: 5d1e2a7c9b30
Revises: 23bb0c0c4f2a
Create Date: 2026-11-24 23:00:00
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import keel.kit.db

revision: str = "5d1e2a7c9b30"
down_revision: str | Sequence[str] | None = "23bb0c0c4f2a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    plans = op.create_table(
        "plans",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("price_monthly_cents", sa.Integer(), nullable=False),
        sa.Column("price_annual_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("features", keel.kit.db.JSONDocument(), nullable=False),
        sa.Column("rate_limits", keel.kit.db.JSONDocument(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", keel.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", keel.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint("key", name=op.f("uq_plans_key")),
    )
    op.create_table(
        "plan_overrides",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("features", keel.kit.db.JSONDocument(), nullable=False),
        sa.Column("rate_limits", keel.kit.db.JSONDocument(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", keel.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", keel.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_plan_overrides_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_overrides")),
        sa.UniqueConstraint("organization_id", name=op.f("uq_plan_overrides_organization_id")),
    )
    op.create_table(
        "usage_counters",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_usage_counters_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_counters")),
        sa.UniqueConstraint(
            "organization_id",
            "metric",
            "period",
            name=op.f("uq_usage_counters_organization_id_metric_period"),
        ),
    )
    _row_level_security()
    now = datetime.now(UTC)
    op.bulk_insert(
        plans,
        [{"id": uuid.uuid4(), "created_at": now, "updated_at": now, **plan} for plan in _CATALOG],
    )


def downgrade() -> None:
    op.drop_table("usage_counters")
    op.drop_table("plan_overrides")
    op.drop_table("plans")


# ---- written by hand --------------------------------------------------------------------------

_ORG = "nullif(current_setting('keel.org_id', true), '')::uuid"
_PLATFORM = "coalesce(current_setting('keel.platform', true), '') = 'on'"


def _row_level_security() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    rule = f"organization_id = {_ORG} OR {_PLATFORM}"
    for table in ("plan_overrides", "usage_counters"):
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_read ON {table} FOR SELECT USING ({rule})")
        op.execute(
            f"CREATE POLICY tenant_write ON {table} FOR ALL USING ({rule}) WITH CHECK ({rule})"
        )


def _limits(api: int | None, generate: int | None, analytics: int | None) -> dict[str, Any]:
    """Requests per minute (all of the API), per hour (generate) and per day (analytics);
    None is unlimited."""

    def spec(limit: int | None, window: int) -> dict[str, int] | None:
        return None if limit is None else {"limit": limit, "window_seconds": window}

    return {
        "api": spec(api, 60),
        "generate": spec(generate, 3600),
        "analytics": spec(analytics, 86400),
    }


def _features(**values: Any) -> dict[str, Any]:
    base = {
        "basic_features": True,
        "advanced_analytics": False,
        "api_access": False,
        "custom_branding": False,
        "priority_support": False,
        "sla_guarantee": "none",
        "dedicated_account_manager": False,
        "custom_integrations": False,
        "sso": False,
        "audit_logs": False,
        "custom_roles": False,
    }
    return {**base, **values}


# The catalog as first shipped; the superadmin edits it afterwards (audited), so this is
# history, not a second source of truth.
_CATALOG: list[dict[str, Any]] = [
    {
        "key": "free",
        "name": "Free",
        "description": "For trying Keel out with a small team.",
        "price_monthly_cents": 0,
        "price_annual_cents": 0,
        "currency": "usd",
        "public": True,
        "sort_order": 0,
        "features": _features(
            max_users=5,
            max_projects=3,
            max_storage_gb=1,
            max_api_calls_per_month=10_000,
            max_concurrent_sessions=3,
        ),
        "rate_limits": _limits(100, 10, 100),
    },
    {
        "key": "starter",
        "name": "Starter",
        "description": "For small teams that ship to customers.",
        "price_monthly_cents": 1_900,
        "price_annual_cents": 19_000,
        "currency": "usd",
        "public": True,
        "sort_order": 1,
        "features": _features(
            max_users=15,
            max_projects=20,
            max_storage_gb=20,
            max_api_calls_per_month=100_000,
            max_concurrent_sessions=5,
            api_access=True,
            sla_guarantee="99.5%",
        ),
        "rate_limits": _limits(300, 100, 1_000),
    },
    {
        "key": "professional",
        "name": "Professional",
        "description": "For growing companies that need analytics, roles and the API.",
        "price_monthly_cents": 9_900,
        "price_annual_cents": 99_000,
        "currency": "usd",
        "public": True,
        "sort_order": 2,
        "features": _features(
            max_users=100,
            max_projects=-1,
            max_storage_gb=200,
            max_api_calls_per_month=1_000_000,
            max_concurrent_sessions=10,
            advanced_analytics=True,
            api_access=True,
            custom_branding=True,
            priority_support=True,
            sla_guarantee="99.9%",
            custom_integrations=True,
            audit_logs=True,
            custom_roles=True,
        ),
        "rate_limits": _limits(1_000, 1_000, 10_000),
    },
    {
        "key": "enterprise",
        "name": "Enterprise",
        "description": "Unlimited use, SSO, an SLA and a dedicated account manager.",
        "price_monthly_cents": 49_900,
        "price_annual_cents": 499_000,
        "currency": "usd",
        "public": True,
        "sort_order": 3,
        "features": _features(
            max_users=-1,
            max_projects=-1,
            max_storage_gb=-1,
            max_api_calls_per_month=-1,
            max_concurrent_sessions=-1,
            advanced_analytics=True,
            api_access=True,
            custom_branding=True,
            priority_support=True,
            sla_guarantee="99.99%",
            dedicated_account_manager=True,
            custom_integrations=True,
            sso=True,
            audit_logs=True,
            custom_roles=True,
        ),
        "rate_limits": _limits(None, None, None),
    },
]
