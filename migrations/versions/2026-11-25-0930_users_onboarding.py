"""users: onboarding checklist state.

Revision ID: d4f6182b3c34
Revises: c3e5071a2b23
Create Date: 2026-11-25 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import keel.kit.db

revision: str = "d4f6182b3c34"
down_revision: str | Sequence[str] | None = "c3e5071a2b23"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns with no default: adding them rewrites nothing on PostgreSQL.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("onboarding_steps", keel.kit.db.JSONDocument(), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "onboarding_completed_at", keel.kit.db.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_index("ix_users_is_superadmin", ["is_superadmin"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_is_superadmin")
        batch_op.drop_column("onboarding_completed_at")
        batch_op.drop_column("onboarding_steps")
