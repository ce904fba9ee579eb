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
    name = "project.created"

    project_id: uuid.UUID
    created_by: uuid.UUID | None


class ProjectUpdated(Event):
    name = "project.updated"

    project_id: uuid.UUID
    fields: list[str]


class ProjectDeleted(Event):
    name = "project.deleted"

    project_id: uuid.UUID


class DocumentCreated(Event):
    name = "document.created"

    project_id: uuid.UUID
    document_id: uuid.UUID
    created_by: uuid.UUID | None


class DocumentUpdated(Event):
    name = "document.updated"

    project_id: uuid.UUID
    document_id: uuid.UUID
    fields: list[str]


class DocumentDeleted(Event):
    name = "document.deleted"

    project_id: uuid.UUID
    document_id: uuid.UUID
