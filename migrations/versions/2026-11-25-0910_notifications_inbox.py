"""notifications: in-app notifications and email preferences.

Both tables are user-owned (read through ``user_id`` only), not tenant tables: no row-level
security. ``notifications.organization_id`` only says which organization a notice is about.

Revision ID: b2d4f6081a12
Revises: a1c3e5f70901
Create Date: 2026-11-25 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import keel.kit.db

revision: str = "b2d4f6081a12"
down_revision: str | Sequence[str] | None = "a1c3e5f70901"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.String(length=2000), nullable=False),
        sa.Column("link", sa.String(length=2000), nullable=True),
        sa.Column("data", keel.kit.db.JSONDocument(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("read_at", keel.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", keel.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_notifications_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint(
            "user_id", "dedupe_key", name=op.f("uq_notifications_user_id_dedupe_key")
        ),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_user_id_id", ["user_id", "id"], unique=False)
        batch_op.create_index(
            "ix_notifications_user_id_read_at_id", ["user_id", "read_at", "id"], unique=False
        )
        batch_op.create_index("ix_notifications_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_notifications_organization_id", ["organization_id"], unique=False)

    op.create_table(
        "email_unsubscriptions",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("created_at", keel.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_email_unsubscriptions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "category", name=op.f("pk_email_unsubscriptions")),
    )


def downgrade() -> None:
    op.drop_table("email_unsubscriptions")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_organization_id")
        batch_op.drop_index("ix_notifications_created_at")
        batch_op.drop_index("ix_notifications_user_id_read_at_id")
        batch_op.drop_index("ix_notifications_user_id_id")
    op.drop_table("notifications")
