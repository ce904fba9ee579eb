"""Public (anonymous) auth endpoints: sign-up, email verification, password reset, email
change confirmation. Each is parse -> ``registration`` service -> answer."""

from __future__ import annotations

from fastapi import status

from keel.access.dependencies import RequestActor
from keel.auth.dependencies import AuthIpLimit
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

router = api_router(prefix="/auth", tags=["auth"], dependencies=[AuthIpLimit])


@router.post("/register", status_code=status.HTTP_201_CREATED)
async def register(
    body: RegisterRequest, actor: RequestActor, db: DbSession, resources: AppResources
) -> UserRead:
    user = await registration.register(
        db,
        actor,
        email=body.email,
        name=body.name,
        password=body.password,
        settings=resources.settings,
    )
    return UserRead.of(user)


@router.post("/verify-email")
async def verify_email(body: TokenRequest, actor: RequestActor, db: DbSession) -> UserRead:
    user = await registration.verify_email(db, actor, token=body.token)
    return UserRead.of(user)


@router.post("/verify-email/resend", status_code=status.HTTP_202_ACCEPTED)
async def resend_verification(
    body: EmailRequest, actor: RequestActor, db: DbSession, resources: AppResources
) -> Accepted:
    await registration.resend_verification(
        db,
        actor,
        email=body.email,
        settings=resources.settings,
        limiter=resources.limiter,
    )
    return Accepted()


@router.post("/password/forgot", status_code=status.HTTP_202_ACCEPTED)
async def forgot_password(
    body: EmailRequest, actor: RequestActor, db: DbSession, resources: AppResources
) -> Accepted:
    await registration.forgot_password(
        db,
        actor,
        email=body.email,
        settings=resources.settings,
        limiter=resources.limiter,
    )
    return Accepted()


@router.post("/password/reset", status_code=status.HTTP_204_NO_CONTENT)
async def reset_password(
    body: PasswordResetRequest, actor: RequestActor, db: DbSession, resources: AppResources
) -> None:
    await registration.reset_password(
        db,
        actor,
        token=body.token,
        password=body.password,
        settings=resources.settings,
        cache=resources.cache,
    )


@router.post("/email/confirm")
async def confirm_email_change(body: TokenRequest, actor: RequestActor, db: DbSession) -> UserRead:
    user = await registration.confirm_email_change(db, actor, token=body.token)
    return UserRead.of(user)
