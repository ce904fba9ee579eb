"""The :class:`Actor`: who is acting, resolved once per request or job and passed explicitly.

Kinds: ``user`` (a person through the API or web), ``api_key`` (a machine credential of an
organization), ``service`` (another system with a service credential), ``system`` (Keel itself:
jobs, schedules, the CLI) and ``staff`` (a superadmin acting in the God dashboard). The origin
fields (IP, user agent, request id) are what the audit log records about where an action came
from.

:class:`OrgAccess` is the proof that an actor may work inside one organization: it carries the
:data:`AccessibleOrgId` that every tenant repository demands, and the subject (roles, teams,
attributes) and policies every permission check reads. Only
``keel.organizations.service.access.open_org`` builds one (an architecture test keeps it so).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from keel.access.rules import Environment, PolicySet, Subject
from keel.kit.tenancy import AccessibleOrgId

__all__ = ["AccessibleOrgId", "Actor", "ActorKind", "OrgAccess"]

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
    #: An API key's permissions (None for every other kind: their role decides).
    permissions: frozenset[str] | None = None
    #: The user an API key acts for: its creator, whose own rights cap the key's.
    on_behalf_of: uuid.UUID | None = None

    @property
    def user_id(self) -> uuid.UUID | None:
        """The person behind the action: the user, or the creator of an API key."""
        if self.kind == "user":
            return uuid.UUID(self.id)
        return self.on_behalf_of

    @classmethod
    def system(cls, name: str = "keel", *, request_id: str | None = None) -> Actor:
        """Keel acting on its own: a job, a schedule or an operator's CLI command."""
        return cls(kind="system", id=name, request_id=request_id)


@dataclass(frozen=True, slots=True)
class OrgAccess:
    """An actor's standing inside one organization, resolved once per request."""

    org_id: AccessibleOrgId
    actor: Actor
    subject: Subject
    policies: PolicySet
    #: The caller's built-in organization role (None for a superadmin who is not a member).
    role: str | None
    plan: str
    #: When the caller joined (None for a non-member): starts an admin's MFA grace period.
    member_since: datetime | None = None
    #: Where and when the request happened, fixed once so every check of one request agrees.
    environment: Environment | None = None
