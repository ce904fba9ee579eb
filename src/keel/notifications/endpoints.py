"""The caller's in-app notifications and email preferences (``/api/v1/me/...``), and the
public one-click unsubscribe link (``/api/v1/notifications/unsubscribe``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Response
from fastapi.responses import StreamingResponse

from keel.access.dependencies import RequestActor
from keel.auth.dependencies import CurrentActor, CurrentUser
from keel.kit.deps import AppResources, AppSettings, DbSession
from keel.kit.routing import api_router
from keel.kit.schemas import Pagination
from keel.notifications import service
from keel.notifications.schemas import (
    NotificationPage,
    PreferencesRead,
    PreferencesWrite,
    UnreadCount,
    UnsubscribeResult,
)

router = api_router(tags=["notifications"])

#: Told to proxies (nginx) not to buffer the stream, and to nobody to cache it.
_STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@router.get("/me/notifications", response_model=NotificationPage)
async def list_notifications(
    user: CurrentUser,
    db: DbSession,
    page: Pagination,
    unread: Annotated[bool, Query(description="Only notifications not read yet.")] = False,
) -> NotificationPage:
    return await service.page(db, user.id, page, unread_only=unread)


@router.get("/me/notifications/stream", response_class=StreamingResponse)
async def stream_notifications(user: CurrentUser, resources: AppResources) -> StreamingResponse:
    """Server-Sent Events: ``unread_count`` at once, then ``notification`` and
    ``unread_count`` as the inbox changes (docs/notifications.md)."""
    events = service.stream(
        resources.database,
        resources.broadcast,
        user.id,
        heartbeat=resources.settings.notifications.stream_heartbeat_seconds,
    )
    return StreamingResponse(events, media_type="text/event-stream", headers=_STREAM_HEADERS)


@router.post("/me/notifications/read-all", response_model=UnreadCount)
async def read_all(user: CurrentUser, db: DbSession) -> UnreadCount:
    await service.mark_all_read(db, user.id)
    return UnreadCount(unread_count=0)


@router.post("/me/notifications/{notification_id}/read", status_code=204)
async def read_one(user: CurrentUser, db: DbSession, notification_id: uuid.UUID) -> Response:
    await service.mark_read(db, user.id, notification_id)
    return Response(status_code=204)


@router.get("/me/notification-preferences", response_model=PreferencesRead)
async def read_preferences(user: CurrentUser, db: DbSession) -> PreferencesRead:
    return await service.read_preferences(db, user.id)


@router.put("/me/notification-preferences", response_model=PreferencesRead)
async def update_preferences(
    user: CurrentUser, actor: CurrentActor, db: DbSession, body: PreferencesWrite
) -> PreferencesRead:
    return await service.update_preferences(db, actor, user.id, body.subscribed)


_TOKEN = Annotated[str, Query(min_length=1, max_length=1000, description="From the email.")]


@router.get("/notifications/unsubscribe", response_model=UnsubscribeResult)
async def unsubscribe_link(
    token: _TOKEN, resources: AppResources, actor: RequestActor
) -> UnsubscribeResult:
    """The link in the email's footer: following it unsubscribes (no login needed). A GET
    that writes, so it opens a write transaction itself (``DbSession`` reads on GET)."""
    async with resources.database.transaction() as db:
        return await service.unsubscribe(db, actor, token, settings=resources.settings)


@router.post("/notifications/unsubscribe", response_model=UnsubscribeResult)
async def unsubscribe_one_click(
    token: _TOKEN, db: DbSession, actor: RequestActor, settings: AppSettings
) -> UnsubscribeResult:
    """RFC 8058 one-click: mail clients POST ``List-Unsubscribe=One-Click`` here."""
    return await service.unsubscribe(db, actor, token, settings=settings)
