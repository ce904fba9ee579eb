"""The organization's admin pages (issue 7, part I): members and invitations, teams, roles
and access, and the organization's settings. One module per page; every route is guarded
by the permission of the API route it mirrors and calls the same service function."""

from __future__ import annotations

from fastapi import APIRouter

from keel.web.pages.members.access import router as access_router
from keel.web.pages.members.details import router as details_router
from keel.web.pages.members.people import router as people_router
from keel.web.pages.members.teams import router as teams_router

#: Included one by one into the app (``keel.web.pages.install``): a nested router would make
#: FastAPI analyse every route's dependencies once more per level.
ROUTERS: tuple[APIRouter, ...] = (people_router, teams_router, access_router, details_router)

__all__ = ["ROUTERS"]
