"""``GET /api/v1/me``: who the access token belongs to (CONTRACT.md)."""

from __future__ import annotations

from keel.auth.dependencies import CurrentUser
from keel.auth.schemas import MeRead
from keel.auth.service import login as login_service
from keel.kit.deps import DbSession
from keel.kit.routing import api_router

router = api_router(tags=["me"])


@router.get("/me", response_model=MeRead)
async def read_me(user: CurrentUser, db: DbSession) -> MeRead:
    return MeRead(
        id=user.id,
        email=user.email,
        name=user.name,
        email_verified=user.email_verified_at is not None,
        mfa_enabled=await login_service.mfa_enabled(db, user.id),
        # Memberships arrive with the tenancy issue; until then a user belongs to none.
        organizations=[],
    )
