"""flags: feature flags and the history of every change to them.

Platform-wide tables: no organization_id, so no row-level security (the runtime role gets
data access through migrations/env.py like every table).

Revision ID: 7f3b9c1d2e44
Revises: 5d1e2a7c9b30
Create Date: 2026-11-24 23:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import keel.kit.db

revision: str = "7f3b9c1d2e44"
down_revision: str | Sequence[str] | None = "5d1e2a7c9b30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feature_flags",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("definition", keel.kit.db.JSONDocument(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", keel.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", keel.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feature_flags")),
        sa.UniqueConstraint("key", name=op.f("uq_feature_flags_key")),
    )
    op.create_table(
        "feature_flag_versions",
        sa.Column("flag_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("definition", keel.kit.db.JSONDocument(), nullable=False),
        sa.Column("diff", keel.kit.db.JSONDocument(), nullable=False),
        sa.Column("changed_by", sa.Uuid(), nullable=True),
        sa.Column("changed_at", keel.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feature_flag_versions")),
        sa.UniqueConstraint("key", "version", name=op.f("uq_feature_flag_versions_key_version")),
    )
    with op.batch_alter_table("feature_flag_versions", schema=None) as batch_op:
        batch_op.create_index("ix_feature_flag_versions_key_id", ["key", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("feature_flag_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_feature_flag_versions_key_id")
    op.drop_table("feature_flag_versions")
    op.drop_table("feature_flags")
