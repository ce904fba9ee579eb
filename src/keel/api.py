"""Every domain's routers, mounted under ``/api/v1`` by ``create_app``.

Flat on purpose: FastAPI walks nested ``include_router`` trees on every request, and with
three levels route matching was about half of a request's framework time (measured with
``bench.read_path_profile``); one level keeps the walk short.
"""

from fastapi import APIRouter

from keel.audit import endpoints as audit_endpoints
from keel.auth import endpoints as auth_endpoints
from keel.flags import endpoints as flags_endpoints
from keel.notifications import endpoints as notifications_endpoints
from keel.organizations import endpoints as organizations_endpoints
from keel.plans import endpoints as plans_endpoints
from keel.projects import endpoints as projects_endpoints
from keel.webhooks import endpoints as webhooks_endpoints

PREFIX = "/api/v1"
ROUTERS: tuple[APIRouter, ...] = (
    audit_endpoints.router,
    *auth_endpoints.ROUTERS,
    *flags_endpoints.ROUTERS,
    notifications_endpoints.router,
    *organizations_endpoints.ROUTERS,
    *plans_endpoints.ROUTERS,
    projects_endpoints.router,
    webhooks_endpoints.router,
)
