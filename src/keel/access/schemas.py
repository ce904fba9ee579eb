"""The :class:`Actor`: who is acting, resolved once per request or job and passed explicitly.

Kinds: ``user`` (a person through the API or web), ``api_key`` (a machine credential of an
organization), ``service`` (another system with a service credential), ``system`` (Keel itself:
jobs, schedules, the CLI) and ``staff`` (a superadmin acting in the God dashboard). The
tenancy issue adds roles and permissions; the origin fields (IP, user agent, request id) are
what the audit log records about where an action came from.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

ActorKind = Literal["user", "api_key", "service", "system", "staff"]


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: str
    organization_id: uuid.UUID | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    #: The login session behind a user's access token (None for every other kind).
    session_id: uuid.UUID | None = None

    @classmethod
    def system(cls, name: str = "keel", *, request_id: str | None = None) -> Actor:
        """Keel acting on its own: a job, a schedule or an operator's CLI command."""
        return cls(kind="system", id=name, request_id=request_id)
