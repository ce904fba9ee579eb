"""Projects and documents: the domain's API, the same for the REST API, web pages and CLI.

- ``projects``: projects, and the reading helpers both modules share (read scope, list top-up,
  audit);
- ``documents``: documents, always reached through their project;
- ``samples``: the demo project a new organization starts with.

Every function follows GUIDE §3.3: fetch scoped to the organization first, and answer 404 for
a missing object, another tenant's, a document of another project, or one the caller may not
read; only then check the change on the row (403). A caller who may read a document but not
change it therefore gets 403, and one who may not read it cannot learn that it exists.
"""

from keel.projects.service.documents import (
    create_document,
    delete_document,
    get_document,
    list_documents,
    update_document,
)
from keel.projects.service.projects import (
    TOP_UP_ROUNDS,
    create_project,
    delete_project,
    get_project,
    list_projects,
    read_scope,
    update_project,
)
from keel.projects.service.samples import add_sample_data

__all__ = [
    "TOP_UP_ROUNDS",
    "add_sample_data",
    "create_document",
    "create_project",
    "delete_document",
    "delete_project",
    "get_document",
    "get_project",
    "list_documents",
    "list_projects",
    "read_scope",
    "update_document",
    "update_project",
]
