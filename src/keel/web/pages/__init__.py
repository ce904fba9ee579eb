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

router = APIRouter(dependencies=[Depends(csrf_guard)], include_in_schema=False)
router.include_router(public.router)
router.include_router(accounts.router)
router.include_router(app.router)
router.include_router(workspace.router)
router.include_router(settings.router)
router.include_router(members.router)
router.include_router(organization.router)
router.include_router(admin.router)

__all__ = ["HtmlProblemPages", "install", "router"]


def install(app_: FastAPI) -> None:
    """Mount the pages and ``/static`` (served by Keel: no third-party requests)."""
    app_.include_router(router)
    app_.mount("/static", StaticFiles(directory=STATIC), name="static")
    app_.add_exception_handler(SignInRequired, sign_in_redirect)
