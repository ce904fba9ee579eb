"""kit: idempotency keys for POST endpoints that create.

Revision ID: f6b8304d5e56
Revises: d4f6182b3c34
Create Date: 2026-11-25 10:10:00
"""

from collections.abc import Sequence

revision: str = "f6b8304d5e56"
down_revision: str | Sequence[str] | None = "d4f6182b3c34"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
