"""Imports every domain's models so ``Base.metadata`` holds the whole schema (for Alembic)."""

from keel.audit import models as audit_models
from keel.auth import models as auth_models
from keel.events import models as events_models
from keel.kit.db import Base
from keel.kit.jobs import models as jobs_models
from keel.users import models as users_models

__all__ = ["Base", "audit_models", "auth_models", "events_models", "jobs_models", "users_models"]

metadata = Base.metadata
