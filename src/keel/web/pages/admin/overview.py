"""The dashboard's overview (counts, recent sign-ups, the queue) and the system's health
(the readiness checks, the job queue and its dead jobs, the error rate, recent errors)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from keel.kit.deps import AppResources, DbSession
from keel.web.dependencies import WebPlatformOwner, WebState, WebUser
from keel.web.pages.admin.common import page
from keel.web.service import admin

router = APIRouter(prefix="/admin")


@router.get("")
async def overview(
    request: Request, state: WebState, owner: WebPlatformOwner, user: WebUser, db: DbSession
) -> Response:
    view = await admin.overview(db, owner)
    return page(request, state, "overview.html", user=user, nav="overview", view=view)


@router.get("/health")
async def health(
    request: Request,
    *,
    state: WebState,
    owner: WebPlatformOwner,
    user: WebUser,
    db: DbSession,
    resources: AppResources,
) -> Response:
    view = await admin.health(db, owner, resources)
    return page(request, state, "health.html", user=user, nav="health", view=view)
