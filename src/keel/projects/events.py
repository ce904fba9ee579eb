"""Events the projects domain publishes. Payloads carry ids and the names of the fields that
changed, never titles or bodies (a subscriber that needs content reads it with its own rights):

===================  ===============================================================
name                 when
===================  ===============================================================
project.created      a project was created
project.updated      its name, description or team changed
project.deleted      it was deleted (its documents with it)
document.created     a document was created in a project
document.updated     its title, body, classification, tags or sharing changed
document.deleted     it was deleted
===================  ===============================================================
"""

from __future__ import annotations

import uuid

from keel.events.schemas import Event


class ProjectCreated(Event):
    """A project was created; ``created_by`` is None when Keel made it without a
    user behind it."""

    name = "project.created"
    example = {
        "project_id": "0193a1c0-2222-7ccc-8ddd-0c1d2e3f4a5b",
        "created_by": "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b",
    }

    project_id: uuid.UUID
    created_by: uuid.UUID | None


class ProjectUpdated(Event):
    """A project's name, description or team changed; ``fields`` names what."""

    name = "project.updated"
    example = {"project_id": "0193a1c0-2222-7ccc-8ddd-0c1d2e3f4a5b", "fields": ["description"]}

    project_id: uuid.UUID
    fields: list[str]


class ProjectDeleted(Event):
    """A project was deleted, its documents with it (no ``document.deleted`` for them)."""

    name = "project.deleted"
    example = {"project_id": "0193a1c0-2222-7ccc-8ddd-0c1d2e3f4a5b"}

    project_id: uuid.UUID


class DocumentCreated(Event):
    """A document was created in a project."""

    name = "document.created"
    example = {
        "project_id": "0193a1c0-2222-7ccc-8ddd-0c1d2e3f4a5b",
        "document_id": "0193a1c1-3333-7eee-8fff-0c1d2e3f4a5b",
        "created_by": "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b",
    }

    project_id: uuid.UUID
    document_id: uuid.UUID
    created_by: uuid.UUID | None


class DocumentUpdated(Event):
    """A document's title, body, classification, tags or sharing changed; ``fields``
    names what (never the content)."""

    name = "document.updated"
    example = {
        "project_id": "0193a1c0-2222-7ccc-8ddd-0c1d2e3f4a5b",
        "document_id": "0193a1c1-3333-7eee-8fff-0c1d2e3f4a5b",
        "fields": ["body", "tags"],
    }

    project_id: uuid.UUID
    document_id: uuid.UUID
    fields: list[str]


class DocumentDeleted(Event):
    """A document was deleted."""

    name = "document.deleted"
    example = {
        "project_id": "0193a1c0-2222-7ccc-8ddd-0c1d2e3f4a5b",
        "document_id": "0193a1c1-3333-7eee-8fff-0c1d2e3f4a5b",
    }

    project_id: uuid.UUID
    document_id: uuid.UUID
