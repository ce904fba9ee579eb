"""Public (anonymous) auth endpoints: sign-up, email verification, password reset, email
change confirmation. Each is parse -> ``registration`` service -> answer."""

from __future__ import annotations

from fastapi import Request, status

from keel.access.schemas import Actor
from keel.auth.schemas import (
    Accepted,
    EmailRequest,
    PasswordResetRequest,
    RegisterRequest,
    TokenRequest,
)
from keel.auth.service import registration
from keel.kit.deps import AppResources, DbSession
from keel.kit.routing import api_router
from keel.users.schemas import UserRead

router = api_router(prefix="/auth", tags=["auth"])


def anonymous_actor(request: Request) -> Actor:
    """Who is acting before anyone logged in: only where the request came from."""
    return Actor(
        kind="system",
        id="anonymous",
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        request_id=getattr(request.state, "request_id", None),
    )


@router.post("/register", status_code=status.HTTP_201_CREATED)
async def register(
    body: RegisterRequest, request: Request, db: DbSession, resources: AppResources
) -> UserRead:
    user = await registration.register(
        db,
        anonymous_actor(request),
        email=body.email,
        name=body.name,
        password=body.password,
        settings=resources.settings,
    )
    return UserRead.of(user)


@router.post("/verify-email")
async def verify_email(body: TokenRequest, request: Request, db: DbSession) -> UserRead:
    user = await registration.verify_email(db, anonymous_actor(request), token=body.token)
    return UserRead.of(user)


@router.post("/verify-email/resend", status_code=status.HTTP_202_ACCEPTED)
async def resend_verification(
    body: EmailRequest, request: Request, db: DbSession, resources: AppResources
) -> Accepted:
    await registration.resend_verification(
        db,
        anonymous_actor(request),
        email=body.email,
        settings=resources.settings,
        cache=resources.cache,
    )
    return Accepted()


@router.post("/password/forgot", status_code=status.HTTP_202_ACCEPTED)
async def forgot_password(
    body: EmailRequest, request: Request, db: DbSession, resources: AppResources
) -> Accepted:
    await registration.forgot_password(
        db,
        anonymous_actor(request),
        email=body.email,
        settings=resources.settings,
        cache=resources.cache,
    )
    return Accepted()


@router.post("/password/reset", status_code=status.HTTP_204_NO_CONTENT)
async def reset_password(
    body: PasswordResetRequest, request: Request, db: DbSession, resources: AppResources
) -> None:
    await registration.reset_password(
        db,
        anonymous_actor(request),
        token=body.token,
        password=body.password,
        settings=resources.settings,
        cache=resources.cache,
    )


@router.post("/email/confirm")
async def confirm_email_change(body: TokenRequest, request: Request, db: DbSession) -> UserRead:
    user = await registration.confirm_email_change(db, anonymous_actor(request), token=body.token)
    return UserRead.of(user)
