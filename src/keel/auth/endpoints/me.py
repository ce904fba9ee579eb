"""``/api/v1/me``: the caller's own account — edit the profile, change the password or the
email address, delete the account. ``GET /me`` (with memberships) is served by organizations."""

from __future__ import annotations

from fastapi import Response

from keel.auth.dependencies import CurrentActor, CurrentUser
from keel.auth.schemas import (
    Accepted,
    EmailChangeRequest,
    PasswordChangeRequest,
    PasswordConfirmation,
)
from keel.auth.service import registration, sessions
from keel.kit.deps import AppResources, DbSession
from keel.kit.routing import api_router
from keel.users import service as users_service
from keel.users.schemas import UserRead, UserUpdate

router = api_router(tags=["me"])


@router.patch("/me", response_model=UserRead)
async def update_me(
    body: UserUpdate, user: CurrentUser, actor: CurrentActor, db: DbSession
) -> UserRead:
    updated = await users_service.update_profile(db, actor, user, name=body.name)
    return UserRead.of(updated)


@router.post("/me/password", status_code=204)
async def change_password(
    body: PasswordChangeRequest,
    user: CurrentUser,
    actor: CurrentActor,
    db: DbSession,
    resources: AppResources,
) -> Response:
    await users_service.change_password(
        db, actor, user, current_password=body.current_password, new_password=body.new_password
    )
    if body.end_other_sessions:
        await sessions.revoke_all(
            db,
            actor,
            user.id,
            reason="password_changed",
            cache=resources.cache,
            keep=actor.session_id,
        )
    return Response(status_code=204)


@router.post("/me/email", status_code=202, response_model=Accepted)
async def request_email_change(
    body: EmailChangeRequest,
    user: CurrentUser,
    actor: CurrentActor,
    db: DbSession,
    resources: AppResources,
) -> Accepted:
    await registration.request_email_change(
        db,
        actor,
        user,
        password=body.password,
        new_email=body.new_email,
        settings=resources.settings,
    )
    return Accepted()


@router.delete("/me", status_code=204)
async def delete_me(
    body: PasswordConfirmation,
    user: CurrentUser,
    actor: CurrentActor,
    db: DbSession,
    resources: AppResources,
) -> Response:
    """Disables the account at once, ends every session and records the erasure request."""
    await users_service.request_erasure(db, actor, user, password=body.password)
    await sessions.revoke_all(db, actor, user.id, reason="account_deleted", cache=resources.cache)
    return Response(status_code=204)
