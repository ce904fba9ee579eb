"""Readiness (``GET /ready``), error reporting (Sentry) and the preflight behind
``keel doctor`` and ``keel migrate --check``, and ``error.detected`` (see ``errors``).

Readiness and preflight ask the same dependencies different questions: ``/ready`` is polled
every few seconds by a load balancer, so each check is bounded by ``KEEL_READY_TIMEOUT`` and
answers with an error *class* only; ``keel doctor`` runs once, by a person, so it waits longer
and says what is wrong and how to fix it (with any password in a URL hidden).
"""

from keel.observability.service.errors import report_error, request_error_hook
from keel.observability.service.migrations import ALEMBIC_INI, alembic_config, pending_migrations
from keel.observability.service.preflight import (
    PREFLIGHT_TIMEOUT,
    load_settings,
    preflight,
    preflight_data_dir,
    preflight_secret_key,
    safe_url,
)
from keel.observability.service.ready import SMTP_READY_CACHE_SECONDS, error_class, readiness
from keel.observability.service.reporting import (
    configure_error_reporting,
    shutdown_error_reporting,
)

__all__ = [
    "ALEMBIC_INI",
    "PREFLIGHT_TIMEOUT",
    "SMTP_READY_CACHE_SECONDS",
    "alembic_config",
    "configure_error_reporting",
    "error_class",
    "load_settings",
    "pending_migrations",
    "preflight",
    "preflight_data_dir",
    "preflight_secret_key",
    "readiness",
    "report_error",
    "request_error_hook",
    "safe_url",
    "shutdown_error_reporting",
]
