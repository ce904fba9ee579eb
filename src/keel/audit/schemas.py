from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Target:
    """What an audited action was done to: ``Target("project", str(project.id))``."""

    type: str
    id: str
    organization_id: uuid.UUID | None = None
