"""``/api/v1/orgs/{org_id}/members``: list, change, remove; ``DELETE .../members/me`` to
leave (any member; the last admin cannot). Removing someone else by id needs
``users:delete``, even when the id is the caller's own: leaving is ``/me``."""

from __future__ import annotations

import uuid

from fastapi import Response

from keel.kit.deps import DbSession
from keel.kit.routing import api_router
from keel.kit.schemas import Page, Pagination
from keel.organizations.dependencies import (
    CanManageMembers,
    CanReadMembers,
    CanRemoveMembers,
    OrgMember,
)
from keel.organizations.schemas import MemberRead, MemberUpdate
from keel.organizations.service import members

router = api_router(tags=["organizations"])


@router.get("/orgs/{org_id}/members", response_model=Page[MemberRead])
async def list_members(org: CanReadMembers, page: Pagination, db: DbSession) -> Page[MemberRead]:
    return await members.list_page(db, org, page)


@router.delete("/orgs/{org_id}/members/me", status_code=204)
async def leave_organization(org: OrgMember, db: DbSession) -> Response:
    await members.leave(db, org)
    return Response(status_code=204)


@router.patch("/orgs/{org_id}/members/{user_id}", response_model=MemberRead)
async def update_member(
    user_id: uuid.UUID, body: MemberUpdate, org: CanManageMembers, db: DbSession
) -> MemberRead:
    return await members.update(db, org, user_id, body)


@router.delete("/orgs/{org_id}/members/{user_id}", status_code=204)
async def remove_member(user_id: uuid.UUID, org: CanRemoveMembers, db: DbSession) -> Response:
    await members.remove(db, org, user_id)
    return Response(status_code=204)
