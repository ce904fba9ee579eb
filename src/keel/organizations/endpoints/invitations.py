"""``/api/v1/orgs/{org_id}/invitations``: invite, list, resend, revoke; and
``POST /api/v1/invitations/accept`` for the invited person, logged in with the invited
address (a newcomer registers with it first, then logs in and accepts)."""

from __future__ import annotations

import uuid

from fastapi import Response

from keel.auth.dependencies import CurrentActor, CurrentUser, Idempotent
from keel.kit.deps import AppSettings, DbSession
from keel.kit.routing import api_router
from keel.kit.schemas import Page, Pagination
from keel.organizations.dependencies import CanInviteMembers
from keel.organizations.schemas import (
    InvitationAccept,
    InvitationCreate,
    InvitationRead,
    OrganizationRead,
)
from keel.organizations.service import invitations, orgs

router = api_router(tags=["organizations"])


@router.post("/orgs/{org_id}/invitations", status_code=201, response_model=InvitationRead)
async def invite_member(
    body: InvitationCreate,
    org: CanInviteMembers,
    db: DbSession,
    settings: AppSettings,
    idempotency: Idempotent,
) -> InvitationRead:
    return await invitations.invite(db, org, body, settings=settings)


@router.get("/orgs/{org_id}/invitations", response_model=Page[InvitationRead])
async def list_invitations(
    org: CanInviteMembers, page: Pagination, db: DbSession
) -> Page[InvitationRead]:
    return await invitations.list_page(db, org, page)


@router.post("/orgs/{org_id}/invitations/{invitation_id}/resend", response_model=InvitationRead)
async def resend_invitation(
    invitation_id: uuid.UUID, org: CanInviteMembers, db: DbSession, settings: AppSettings
) -> InvitationRead:
    return await invitations.resend(db, org, invitation_id, settings=settings)


@router.delete("/orgs/{org_id}/invitations/{invitation_id}", status_code=204)
async def revoke_invitation(
    invitation_id: uuid.UUID, org: CanInviteMembers, db: DbSession
) -> Response:
    await invitations.revoke(db, org, invitation_id)
    return Response(status_code=204)


@router.post("/invitations/accept", response_model=OrganizationRead)
async def accept_invitation(
    body: InvitationAccept, user: CurrentUser, actor: CurrentActor, db: DbSession
) -> OrganizationRead:
    """The organization joined, with the role the invitation gave."""
    org = await invitations.accept(db, actor, user, token=body.token)
    joined = await orgs.get(db, org)
    return OrganizationRead.model_validate(joined, from_attributes=True).model_copy(
        update={"role": org.role}
    )
