from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel


@dataclass(frozen=True, slots=True)
class Target:
    """What an audited action was done to: ``Target("project", str(project.id))``."""

    type: str
    id: str
    organization_id: uuid.UUID | None = None


#: What the ``action`` filter accepts: an action (``member.invited``), or a prefix ending in
#: ``*`` (``member.*``, ``member*``); shared by the API's query and the web page's form.
ACTION_FILTER = r"^[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?$|^[a-z0-9_]+\*$"


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """The query API's filters; every one given must match. ``action`` ending in ``*`` is a
    prefix (``member.*``)."""

    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class ActorRead(BaseModel):
    kind: str
    id: str
    #: The person behind the action, where known (a user, or an API key's creator).
    user_id: uuid.UUID | None
    email: str | None
    name: str | None


class TargetRead(BaseModel):
    type: str | None
    id: str | None


class AuditEntryRead(BaseModel):
    id: uuid.UUID
    seq: int
    occurred_at: datetime
    actor: ActorRead
    action: str
    target: TargetRead
    changes: dict[str, Any] | None
    context: dict[str, Any] | None
    ip: str | None
    user_agent: str | None
    request_id: str | None
    hash: str


ExportFormat = Literal["csv", "jsonl"]


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first entry of a chain that does not verify (``seq`` is where the break is
    noticed: a missing entry shows as the one after the gap)."""

    organization_id: uuid.UUID | None
    seq: int
    reason: str


@dataclass(slots=True)
class VerifyReport:
    chains: int = 0
    entries: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks
