"""Pure rules of projects and documents: how a caller's read scope becomes a row filter, the
access-control view (:class:`~keel.access.rules.Resource`) of a row, and safe FTS5 queries.

Who may see a row is decided in two steps, both fed by this module:

1. the caller's *widest* read scope becomes a :class:`Visibility`, which the repository turns
   into a SQL filter (so a page only ever scans rows RBAC could allow);
2. each row on the page is then checked with ``access.can`` against its :func:`document_resource`
   or :func:`project_resource`, which applies ABAC policies (classification, time, IP...).

A project has no ``shared_with`` of its own: it is *shared* with a user when one of its
documents is owned by or shared with that user, so a guest can reach the project a document
was shared from, and nothing else of it.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from keel.access.rules import SCOPES, Resource, Scope, Subject

#: Resource types are the permission areas ("documents:read" -> "documents"), so an ABAC
#: policy on resource type "documents" and action "read" narrows exactly that permission.
PROJECT = "projects"
DOCUMENT = "documents"


@dataclass(frozen=True, slots=True)
class Visibility:
    """The rows a read scope reaches: everything, or the union of the parts that are set."""

    everything: bool = False
    #: Rows owned by this user (every scope below organization includes the caller's own).
    owner_id: uuid.UUID | None = None
    #: Rows whose ``shared_with`` names ``owner_id`` (``shared`` scope).
    shared: bool = False
    #: Rows of these teams (``team`` scope).
    team_ids: frozenset[uuid.UUID] = frozenset()

    @property
    def nothing(self) -> bool:
        return not self.everything and self.owner_id is None


NOTHING = Visibility()


def widest_scope(subject: Subject, permission: str) -> Scope | None:
    """The widest scope at which any of the subject's roles grants ``permission``."""
    if subject.is_superadmin:
        return "global"
    scopes = [
        role.by_permission[permission].scope
        for role in subject.roles
        if permission in role.by_permission
    ]
    return max(scopes, key=SCOPES.index, default=None)


def visibility(scope: Scope | None, subject: Subject) -> Visibility:
    """What ``scope`` reaches for ``subject``; the SQL twin of RBAC's scope test."""
    user_id = _uuid(subject.user_id)
    match scope:
        case "organization" | "global":
            return Visibility(everything=True)
        case "team":
            return Visibility(owner_id=user_id, team_ids=frozenset(map(_uuid, subject.team_ids)))
        case "shared":
            return Visibility(owner_id=user_id, shared=True)
        case "own":
            return Visibility(owner_id=user_id)
        case _:
            return NOTHING


def documents_visibility(
    scope: Scope | None, subject: Subject, team_id: uuid.UUID | None
) -> Visibility:
    """Inside one project the team is the project's: a team scope over it reaches every
    document, elsewhere only the caller's own."""
    seen = visibility(scope, subject)
    if seen.team_ids and team_id in seen.team_ids:
        return Visibility(everything=True)
    return Visibility(everything=seen.everything, owner_id=seen.owner_id, shared=seen.shared)


def project_resource(
    *,
    organization_id: uuid.UUID,
    owner_id: uuid.UUID | None,
    team_id: uuid.UUID | None,
    shared_with: Iterable[uuid.UUID] = (),
) -> Resource:
    return Resource(
        type=PROJECT,
        organization_id=organization_id,
        owner_id=owner_id,
        team_id=team_id,
        attributes={"shared_with": frozenset(shared_with)},
    )


def document_resource(
    *,
    organization_id: uuid.UUID,
    owner_id: uuid.UUID | None,
    team_id: uuid.UUID | None,
    classification: str,
    shared_with: Iterable[str | uuid.UUID],
    tags: Iterable[str],
) -> Resource:
    """``shared_with`` is stored as text; RBAC compares it with the subject's UUID."""
    return Resource(
        type=DOCUMENT,
        organization_id=organization_id,
        owner_id=owner_id,
        team_id=team_id,
        attributes={
            "classification": classification,
            "shared_with": frozenset(_uuid(u) for u in shared_with),
            "tags": tuple(tags),
        },
    )


_WORD = re.compile(r"\w+", re.UNICODE)


def fts5_query(text: str) -> str | None:
    """A MATCH expression that cannot be a syntax error: every word of ``text`` becomes a
    quoted string (implicit AND), so operators, quotes, ``*``, ``:``, ``^`` and parentheses
    are searched for as plain words or dropped. None when nothing searchable remains."""
    words = _WORD.findall(text)
    return " ".join(f'"{word}"' for word in words) or None


def body_digest(body: str) -> str:
    """What the audit log keeps of a body: enough to see it changed, nothing of its text."""
    return f"sha256:{hashlib.sha256(body.encode()).hexdigest()[:16]} ({len(body)} chars)"


def _uuid(value: str | uuid.UUID) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


# ---- sample data ----------------------------------------------------------------------------
# What a new organization starts with (KEEL_ONBOARDING__SAMPLE_DATA): a demo project whose
# documents explain the product by being examples of it.

SAMPLE_PROJECT = {
    "name": "Demo project",
    "description": "A sample project to explore: open its documents, change them, then delete "
    "the project when you are ready to start your own.",
}

SAMPLE_DOCUMENTS: tuple[dict[str, Any], ...] = (
    {
        "title": "Start here: how projects and documents work",
        "body": "A project groups documents; a document has a title, a body, tags and a "
        "classification. Members of the organization read every project; a project given to "
        "a team is run by that team's managers; guests see only the documents shared with "
        "them. Edit this document to see its history appear in the audit log.",
        "classification": "internal",
        "tags": ["getting-started"],
    },
    {
        "title": "Team handbook (example)",
        "body": "An example of a document everyone in the organization may read: how we work, "
        "who to ask, where things live. Classified public: it could be shared outside.",
        "classification": "public",
        "tags": ["example", "handbook"],
    },
    {
        "title": "Q3 plan (confidential example)",
        "body": "An example of a confidential document. An admin can write an access policy "
        "such as 'only the leadership team reads confidential documents' in the "
        "organization's settings, and this document follows it at once.",
        "classification": "confidential",
        "tags": ["example", "planning"],
    },
)
