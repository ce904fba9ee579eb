"""``GET /api/v1/me`` (CONTRACT.md): the caller's account with the organizations they belong
to. Served here, not in auth, because memberships live one layer above auth."""

from __future__ import annotations

from keel.auth.dependencies import EnrollingUser
from keel.auth.schemas import MembershipRead, MeRead
from keel.auth.service import mfa
from keel.kit.deps import DbSession
from keel.kit.routing import api_router
from keel.organizations.service import orgs

router = api_router(tags=["me"])


@router.get("/me", response_model=MeRead)
async def read_me(user: EnrollingUser, db: DbSession) -> MeRead:
    memberships = await orgs.list_mine(db, user.id)
    return MeRead(
        id=user.id,
        email=user.email,
        name=user.name,
        email_verified=user.email_verified_at is not None,
        mfa_enabled=await mfa.is_enabled(db, user.id),
        organizations=[
            MembershipRead(id=org.id, name=org.name, role=role) for org, role in memberships
        ],
    )
