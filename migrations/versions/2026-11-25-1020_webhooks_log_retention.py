"""webhooks: indexes for the delivery log's retention purge.

Revision ID: e5a7293c4d45
Revises: f6b8304d5e56
Create Date: 2026-11-25 10:20:00

Built inside the migration's transaction, not ``CONCURRENTLY`` as ADR 0004 asks for large
tables: ``migrations/env.py`` runs every migration in one connection-level transaction,
where Alembic's ``autocommit_block`` cannot open. On a large delivery log, creating them
blocks writes to the two tables while they build.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e5a7293c4d45"
down_revision: str | Sequence[str] | None = "f6b8304d5e56"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_deliveries_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_webhook_deliveries_message_id", ["message_id"], unique=False)
    with op.batch_alter_table("webhook_messages", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_messages_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_messages_created_at")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_message_id")
        batch_op.drop_index("ix_webhook_deliveries_created_at")
