"""kit: idempotency keys for POST endpoints that create.

Revision ID: f6b8304d5e56
Revises: d4f6182b3c34
Create Date: 2026-11-25 10:10:00

A new, empty table keyed by the caller (no tenant column, no row-level security: its scope
hash already includes the actor, ADR 0019). Creating it takes no lock on existing tables.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import keel.kit.db

revision: str = "f6b8304d5e56"
down_revision: str | Sequence[str] | None = "d4f6182b3c34"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_headers", keel.kit.db.JSONDocument(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", keel.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", keel.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("scope", name=op.f("uq_idempotency_keys_scope")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_expires_at"))
    op.drop_table("idempotency_keys")
