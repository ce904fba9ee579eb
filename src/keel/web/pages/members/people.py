"""``/app/{org_id}/members``: the members table (role, team, MFA), changing a member's role,
removing a member; and the invitations: invite, resend, revoke. Each route mirrors the API
route of the same action (``/api/v1/orgs/{org_id}/members``, ``.../invitations``): same
permission, same service call. Refusals the person can act on (the last admin, a role above
theirs, an address already a member) are shown on the page, at the row or field."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from keel.access.schemas import OrgAccess
from keel.kit.deps import AppSettings, DbSession
from keel.kit.errors import ValidationFailed
from keel.organizations.errors import AlreadyMember, LastAdmin, RoleTooHigh
from keel.organizations.service import invitations, members
from keel.web import rules
from keel.web.dependencies import OrgShell, WebForm, WebState
from keel.web.pages.common import confirm_page
from keel.web.pages.members.common import (
    CanInviteMembersPage,
    CanManageMembersPage,
    CanReadMembersPage,
    CanRemoveMembersPage,
    org_url,
)
from keel.web.pages.render import redirect, render
from keel.web.service import members as view
from keel.web.service.shell import Shell

router = APIRouter(prefix="/app")
Cursor = Annotated[str | None, Query(max_length=512)]


@router.get("/{org_id}/members")
async def members_page(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    org: CanReadMembersPage,
    shell: OrgShell,
    db: DbSession,
    cursor: Cursor = None,
) -> Response:
    return await _page(request, state, org=org, shell=shell, db=db, cursor=cursor)


@router.post("/{org_id}/invitations")
async def invite(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    org: CanInviteMembersPage,
    shell: OrgShell,
    db: DbSession,
    settings: AppSettings,
) -> Response:
    values = {"email": form.get("email", "").strip(), "role": form.get("role", "member")}
    try:
        data = view.parse_invitation(values)
        sent = await invitations.invite(db, org, data, settings=settings)
    except view.FormInvalid as exc:
        return await _page(
            request,
            state,
            org=org,
            shell=shell,
            db=db,
            errors=exc.errors,
            values=values,
            status_code=422,
        )
    except (AlreadyMember, ValidationFailed) as exc:
        return await _page(
            request,
            state,
            org=org,
            shell=shell,
            db=db,
            errors=_invite_errors(exc),
            values=values,
            status_code=exc.status,
        )
    return redirect(request, _members(org_id), notice=f"Invitation sent to {sent.email}.")


@router.post("/{org_id}/invitations/{invitation_id}/resend")
async def resend_invitation(
    request: Request,
    *,
    org_id: uuid.UUID,
    invitation_id: uuid.UUID,
    org: CanInviteMembersPage,
    db: DbSession,
    settings: AppSettings,
) -> Response:
    sent = await invitations.resend(db, org, invitation_id, settings=settings)
    return redirect(request, _members(org_id), notice=f"Invitation sent again to {sent.email}.")


@router.get("/{org_id}/invitations/{invitation_id}/revoke")
async def confirm_revoke(
    request: Request,
    *,
    org_id: uuid.UUID,
    invitation_id: uuid.UUID,
    state: WebState,
    org: CanInviteMembersPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    invitation = await invitations.get(db, org, invitation_id)
    return confirm_page(
        request,
        state,
        area="members",
        shell=shell,
        nav="members",
        title=f"Revoke the invitation to {invitation.email}?",
        text="Its link stops working at once. You can invite the address again later.",
        action=org_url(org_id, "invitations", invitation_id, "revoke"),
        back=_members(org_id),
        confirm_text="Revoke",
    )


@router.post("/{org_id}/invitations/{invitation_id}/revoke")
async def revoke_invitation(
    request: Request,
    *,
    org_id: uuid.UUID,
    invitation_id: uuid.UUID,
    org: CanInviteMembersPage,
    db: DbSession,
) -> Response:
    await invitations.revoke(db, org, invitation_id)
    return redirect(request, _members(org_id), notice="Invitation revoked.")


@router.post("/{org_id}/members/{user_id}/role")
async def change_role(
    request: Request,
    *,
    org_id: uuid.UUID,
    user_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    org: CanManageMembersPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    try:
        data = view.parse_member_update(form)
        changed = await members.update(db, org, user_id, data)
    except view.FormInvalid as exc:
        message, status_code = _first(exc.errors), 422
    except (LastAdmin, RoleTooHigh) as exc:
        message, status_code = exc.detail, exc.status
    else:
        notice = f"{changed.name} is now {changed.role}."
        return redirect(request, _members(org_id), notice=notice)
    return await _row_refused(
        request,
        state,
        org=org,
        shell=shell,
        db=db,
        user_id=user_id,
        message=message,
        status_code=status_code,
    )


@router.get("/{org_id}/members/{user_id}/remove")
async def confirm_remove(
    request: Request,
    *,
    org_id: uuid.UUID,
    user_id: uuid.UUID,
    state: WebState,
    org: CanRemoveMembersPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    member = await members.get(db, org, user_id)
    return confirm_page(
        request,
        state,
        area="members",
        shell=shell,
        nav="members",
        title=f"Remove {member.name}?",
        text=f"{member.name} ({member.email}) loses access to this organization at once.",
        action=org_url(org_id, "members", user_id, "remove"),
        back=_members(org_id),
        confirm_text="Remove",
    )


@router.post("/{org_id}/members/{user_id}/remove")
async def remove_member(
    request: Request,
    *,
    org_id: uuid.UUID,
    user_id: uuid.UUID,
    state: WebState,
    org: CanRemoveMembersPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    try:
        await members.remove(db, org, user_id)
    except (LastAdmin, RoleTooHigh) as exc:
        return await _row_refused(
            request,
            state,
            org=org,
            shell=shell,
            db=db,
            user_id=user_id,
            message=exc.detail,
            status_code=exc.status,
        )
    return redirect(request, _members(org_id), notice="Member removed.")


async def _page(
    request: Request,
    state: rules.WebSession,
    *,
    org: OrgAccess,
    shell: Shell,
    db: DbSession,
    cursor: str | None = None,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    row_errors: dict[str, str] | None = None,
) -> Response:
    shown = await view.members_view(db, org, cursor=cursor)
    return render(
        request,
        "pages/members/members.html",
        state,
        status_code=status_code,
        shell=shell,
        nav="members",
        view=shown,
        can_update=view.holds(org, "users:update"),
        can_remove=view.holds(org, "users:delete"),
        role_options=[(role, role.title()) for role in shown.grantable],
        errors=errors or {},
        values=values or {},
        row_errors=row_errors or {},
    )


async def _row_refused(
    request: Request,
    state: rules.WebSession,
    *,
    org: OrgAccess,
    shell: Shell,
    db: DbSession,
    user_id: uuid.UUID,
    message: str,
    status_code: int,
) -> Response:
    """The members page again, the refusal shown at that member's row."""
    return await _page(
        request,
        state,
        org=org,
        shell=shell,
        db=db,
        row_errors={str(user_id): message},
        status_code=status_code,
    )


def _invite_errors(exc: AlreadyMember | ValidationFailed) -> dict[str, str]:
    if isinstance(exc, ValidationFailed):
        return view.service_errors(exc) or {"email": exc.detail}
    return {"email": exc.detail}


def _first(errors: dict[str, str]) -> str:
    return next(iter(errors.values()), "Check the values and try again.")


def _members(org_id: uuid.UUID) -> str:
    return org_url(org_id, "members")
