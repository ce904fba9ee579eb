"""notifications: in-app notifications and email preferences.

Revision ID: b2d4f6081a12
Revises: a1c3e5f70901
Create Date: 2026-11-25 09:10:00
"""

from collections.abc import Sequence

revision: str = "b2d4f6081a12"
down_revision: str | Sequence[str] | None = "a1c3e5f70901"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
