"""audit: hash chain per organization, append-only on PostgreSQL, retention anchors.

Revision ID: a1c3e5f70901
Revises: 7f3b9c1d2e44
Create Date: 2026-11-25 09:00:00
"""

from collections.abc import Sequence

revision: str = "a1c3e5f70901"
down_revision: str | Sequence[str] | None = "7f3b9c1d2e44"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
