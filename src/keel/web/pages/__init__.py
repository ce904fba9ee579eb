"""The web's routes and what ``create_app`` wires for them: the page routers (each route
passes the CSRF guard), the static files, and the redirect to the login page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from keel.web.dependencies import csrf_guard
from keel.web.errors import SignInRequired
from keel.web.pages import accounts, admin, app, members, organization, public, settings, workspace
from keel.web.pages.problems import HtmlProblemPages, sign_in_redirect
from keel.web.pages.render import STATIC

#: Every page router, flat: FastAPI analyses a route's dependencies again at each level of
#: ``include_router``, so nesting these cost about half a second of start-up (as in
#: ``keel.api``).
ROUTERS: tuple[APIRouter, ...] = (
    public.router,
    accounts.router,
    app.router,
    *workspace.ROUTERS,
    settings.router,
    *members.ROUTERS,
    organization.router,
    *admin.ROUTERS,
)

__all__ = ["ROUTERS", "HtmlProblemPages", "install"]


def install(app_: FastAPI) -> None:
    """Mount the pages (each route passes the CSRF guard) and ``/static`` (served by Keel: no
    third-party requests)."""
    for router in ROUTERS:
        app_.include_router(router, dependencies=[Depends(csrf_guard)], include_in_schema=False)
    app_.mount("/static", StaticFiles(directory=STATIC), name="static")
    app_.add_exception_handler(SignInRequired, sign_in_redirect)
