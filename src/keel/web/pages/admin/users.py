"""Users: search every account, open one (status, MFA, organizations, live sessions), and the
account actions (``keel.auth.service.platform``): disable, enable, reset MFA, end sessions.
Each is a confirmed POST; ``GET .../<action>`` is its confirmation as a page (no JavaScript).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from keel.kit.deps import AppResources, DbSession
from keel.web.dependencies import WebPlatformOwner, WebState, WebUser
from keel.web.pages.admin.common import Cursor, Search, page
from keel.web.pages.render import redirect
from keel.web.service import admin

router = APIRouter(prefix="/admin/users")

Action = Annotated[
    Literal["disable", "enable", "reset-mfa", "end-sessions"],
    Path(description="The account action."),
]


@router.get("")
async def users(
    request: Request,
    *,
    state: WebState,
    owner: WebPlatformOwner,
    user: WebUser,
    db: DbSession,
    q: Search = "",
    cursor: Cursor = None,
) -> Response:
    window = await admin.users(db, owner, query=q, cursor=cursor)
    return page(request, state, "users.html", user=user, nav="users", q=q, window=window)


@router.get("/{user_id}")
async def account(
    request: Request,
    *,
    user_id: uuid.UUID,
    state: WebState,
    owner: WebPlatformOwner,
    user: WebUser,
    db: DbSession,
) -> Response:
    view = await admin.user_detail(db, owner, user_id)
    return page(request, state, "user.html", user=user, nav="users", view=view)


@router.get("/{user_id}/{action}")
async def confirm_action(
    request: Request,
    *,
    user_id: uuid.UUID,
    action: Action,
    state: WebState,
    owner: WebPlatformOwner,
    user: WebUser,
    db: DbSession,
) -> Response:
    """The action's confirmation dialog as a page, for a browser without JavaScript."""
    view = await admin.user_detail(db, owner, user_id)
    return page(
        request, state, "user_action.html", user=user, nav="users", view=view, action=action
    )


@router.post("/{user_id}/{action}")
async def act(
    request: Request,
    *,
    user_id: uuid.UUID,
    action: Action,
    state: WebState,
    owner: WebPlatformOwner,
    db: DbSession,
    resources: AppResources,
) -> Response:
    notice = await admin.act_on_user(db, owner, user_id, action, cache=resources.cache)
    return redirect(request, f"/admin/users/{user_id}", notice=notice)
