"""webhooks: endpoints, messages, deliveries and attempts; Slack integrations.

Revision ID: c3e5071a2b23
Revises: b2d4f6081a12
Create Date: 2026-11-25 09:20:00
"""

from collections.abc import Sequence

revision: str = "c3e5071a2b23"
down_revision: str | Sequence[str] | None = "b2d4f6081a12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
