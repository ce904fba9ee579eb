"""``/app/{org_id}/teams``: the teams, a new team, and a team's page (rename, its members,
delete). Mirrors ``/api/v1/orgs/{org_id}/teams``; a team's members are changed as the API
changes them, through the member (``PATCH .../members/{user_id}`` with ``team_id``, so
``users:update``)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from keel.access.schemas import OrgAccess
from keel.kit.deps import DbSession
from keel.organizations.errors import TeamNameTaken
from keel.organizations.schemas import MemberUpdate
from keel.organizations.service import members, teams
from keel.web import rules
from keel.web.dependencies import OrgShell, WebForm, WebState
from keel.web.pages.common import confirm_page
from keel.web.pages.members.common import (
    CanManageMembersPage,
    CanManageTeamsPage,
    CanReadTeamsPage,
    org_url,
)
from keel.web.pages.render import redirect, render
from keel.web.service import members as view
from keel.web.service.shell import Shell

router = APIRouter(prefix="/app")
DELETE_TEXT = "Its members stay in the organization, without a team. This cannot be undone."


@router.get("/{org_id}/teams")
async def teams_page(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    org: CanReadTeamsPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    return await _list_page(request, state, org=org, shell=shell, db=db)


@router.post("/{org_id}/teams")
async def create_team(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    org: CanManageTeamsPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    values = {"name": form.get("name", "")}
    try:
        team = await teams.create(db, org, view.parse_team(values))
    except view.FormInvalid as exc:
        return await _list_page(
            request, state, org=org, shell=shell, db=db, errors=exc.errors, values=values
        )
    except TeamNameTaken as exc:
        return await _list_page(
            request,
            state,
            org=org,
            shell=shell,
            db=db,
            errors={"name": exc.detail},
            values=values,
            status_code=exc.status,
        )
    return redirect(request, _team(org_id, team.id), notice=f"Team “{team.name}” created.")


@router.get("/{org_id}/teams/{team_id}")
async def team_page(
    request: Request,
    *,
    org_id: uuid.UUID,
    team_id: uuid.UUID,
    state: WebState,
    org: CanReadTeamsPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    return await _detail_page(request, state, team_id, org=org, shell=shell, db=db)


@router.post("/{org_id}/teams/{team_id}/rename")
async def rename_team(
    request: Request,
    *,
    org_id: uuid.UUID,
    team_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    org: CanManageTeamsPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    values = {"name": form.get("name", "")}
    try:
        team = await teams.rename(db, org, team_id, view.parse_team(values))
    except view.FormInvalid as exc:
        return await _detail_page(
            request,
            state,
            team_id,
            org=org,
            shell=shell,
            db=db,
            errors=exc.errors,
            values=values,
        )
    except TeamNameTaken as exc:
        return await _detail_page(
            request,
            state,
            team_id,
            org=org,
            shell=shell,
            db=db,
            errors={"name": exc.detail},
            values=values,
            status_code=exc.status,
        )
    return redirect(request, _team(org_id, team_id), notice=f"Team renamed to “{team.name}”.")


@router.get("/{org_id}/teams/{team_id}/delete")
async def confirm_delete_team(
    request: Request,
    *,
    org_id: uuid.UUID,
    team_id: uuid.UUID,
    state: WebState,
    org: CanManageTeamsPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    team = await teams.get(db, org, team_id)
    return confirm_page(
        request,
        state,
        area="members",
        shell=shell,
        nav="teams",
        title=f"Delete the team “{team.name}”?",
        text=DELETE_TEXT,
        action=org_url(org_id, "teams", team_id, "delete"),
        back=_team(org_id, team_id),
    )


@router.post("/{org_id}/teams/{team_id}/delete")
async def delete_team(
    request: Request,
    *,
    org_id: uuid.UUID,
    team_id: uuid.UUID,
    org: CanManageTeamsPage,
    db: DbSession,
) -> Response:
    await teams.delete(db, org, team_id)
    return redirect(request, org_url(org_id, "teams"), notice="Team deleted.")


@router.post("/{org_id}/teams/{team_id}/members")
async def add_team_member(
    request: Request,
    *,
    org_id: uuid.UUID,
    team_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    org: CanManageMembersPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    try:
        user_id = view.parse_user_id(form.get("user_id", ""), field="user_id")
    except view.FormInvalid as exc:
        return await _detail_page(
            request, state, team_id, org=org, shell=shell, db=db, errors=exc.errors
        )
    added = await members.update(db, org, user_id, MemberUpdate(team_id=team_id))
    return redirect(request, _team(org_id, team_id), notice=f"{added.name} added to the team.")


@router.post("/{org_id}/teams/{team_id}/members/{user_id}/remove")
async def remove_team_member(
    request: Request,
    *,
    org_id: uuid.UUID,
    team_id: uuid.UUID,
    user_id: uuid.UUID,
    org: CanManageMembersPage,
    db: DbSession,
) -> Response:
    """Takes the member out of this team only (they stay in the organization)."""
    member = await members.get(db, org, user_id)
    if member.team_id == team_id:
        await members.update(db, org, user_id, MemberUpdate(team_id=None))
    notice = f"{member.name} removed from the team."
    return redirect(request, _team(org_id, team_id), notice=notice)


async def _list_page(
    request: Request,
    state: rules.WebSession,
    *,
    org: OrgAccess,
    shell: Shell,
    db: DbSession,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int | None = None,
) -> Response:
    return render(
        request,
        "pages/members/teams.html",
        state,
        status_code=status_code or (422 if errors else 200),
        shell=shell,
        nav="teams",
        teams=await view.teams_list(db, org),
        can_write=view.may(org, "team:write"),
        errors=errors or {},
        values=values or {},
    )


async def _detail_page(
    request: Request,
    state: rules.WebSession,
    team_id: uuid.UUID,
    *,
    org: OrgAccess,
    shell: Shell,
    db: DbSession,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int | None = None,
) -> Response:
    shown = await view.team_view(db, org, team_id)
    return render(
        request,
        "pages/members/team.html",
        state,
        status_code=status_code or (422 if errors else 200),
        shell=shell,
        nav="teams",
        view=shown,
        can_write=view.may_write_team(org, team_id),
        can_manage_members=view.holds(org, "users:update"),
        errors=errors or {},
        values=values or {"name": shown.team.name},
    )


def _team(org_id: uuid.UUID, team_id: uuid.UUID) -> str:
    return org_url(org_id, "teams", team_id)
