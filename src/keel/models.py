"""Imports every domain's models so ``Base.metadata`` holds the whole schema (for Alembic)."""

from typing import Any

from keel.audit import models as audit_models
from keel.auth import models as auth_models
from keel.events import models as events_models
from keel.flags import models as flags_models
from keel.kit.db import Base
from keel.kit.idempotency import models as idempotency_models
from keel.kit.jobs import models as jobs_models
from keel.notifications import models as notifications_models
from keel.organizations import models as organizations_models
from keel.plans import models as plans_models
from keel.projects import models as projects_models
from keel.users import models as users_models
from keel.webhooks import models as webhooks_models

__all__ = [
    "Base",
    "audit_models",
    "auth_models",
    "events_models",
    "flags_models",
    "idempotency_models",
    "jobs_models",
    "notifications_models",
    "organizations_models",
    "plans_models",
    "projects_models",
    "users_models",
    "webhooks_models",
]

metadata = Base.metadata

#: Dialect-specific full-text search objects the migrations create by hand (see
#: ``keel.projects.models``): autogenerate must neither drop nor recreate them.
UNMODELLED = ("documents_fts", "search_vector", "ix_documents_search_vector")


def include_in_autogenerate(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    return not (reflected and name is not None and name.startswith(UNMODELLED))
