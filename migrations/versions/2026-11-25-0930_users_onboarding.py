"""users: onboarding checklist state.

Revision ID: d4f6182b3c34
Revises: c3e5071a2b23
Create Date: 2026-11-25 09:30:00
"""

from collections.abc import Sequence

revision: str = "d4f6182b3c34"
down_revision: str | Sequence[str] | None = "c3e5071a2b23"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
