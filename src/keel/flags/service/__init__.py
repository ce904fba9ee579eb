"""Feature flags: the one API for the admin endpoints, the org endpoint, the OpenFeature
provider, the CLI and any service that asks whether a feature is on.

- ``changes``: create, update, toggle, roll back, delete and seed flags (each audited,
  recorded in the history and published as ``feature.*`` events), and read them for admins;
- ``evaluation``: the compiled flags, cached per process and invalidated everywhere on
  commit, and ``is_enabled`` / ``value`` / ``evaluate_for`` for a caller.

From another domain: ``from keel.flags import service as flags_service``, then
``await flags_service.is_enabled(session, org, "ai_assistant")``.
"""

from keel.flags.service.changes import (
    create_flag,
    definition_diff,
    delete_flag,
    get_flag,
    history,
    list_flags,
    rollback,
    seed_examples,
    set_enabled,
    update_flag,
)
from keel.flags.service.evaluation import (
    CACHE_KEY,
    ENVIRONMENTS,
    Who,
    cached_flags,
    compile_stored,
    context_fields,
    context_for,
    current_flags,
    environment_for,
    evaluate_all_for,
    evaluate_for,
    is_enabled,
    value,
)

__all__ = [
    "CACHE_KEY",
    "ENVIRONMENTS",
    "Who",
    "cached_flags",
    "compile_stored",
    "context_fields",
    "context_for",
    "create_flag",
    "current_flags",
    "definition_diff",
    "delete_flag",
    "environment_for",
    "evaluate_all_for",
    "evaluate_for",
    "get_flag",
    "history",
    "is_enabled",
    "list_flags",
    "rollback",
    "seed_examples",
    "set_enabled",
    "update_flag",
    "value",
]
