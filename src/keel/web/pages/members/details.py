"""``/app/{org_id}/settings``: the organization's details (name, slug, industry, team size)
and deleting the organization. Reading needs ``settings:read``; saving and deleting need
``settings:update``, as ``PATCH``/``DELETE /api/v1/orgs/{org_id}`` do, and deleting asks for
the admin's password again, as the API does. Saving also ticks the onboarding checklist's
"organization details" step, which links here."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from keel.access.schemas import OrgAccess
from keel.kit.deps import DbSession
from keel.organizations.errors import SlugTaken
from keel.organizations.models import Organization
from keel.organizations.service import orgs
from keel.users.errors import IncorrectPassword
from keel.web import rules
from keel.web.dependencies import OrgShell, WebForm, WebState, WebUser
from keel.web.pages.common import confirm_page
from keel.web.pages.members.common import (
    CanManageOrganizationPage,
    CanReadSettingsPage,
    org_url,
)
from keel.web.pages.render import redirect, render
from keel.web.service import members as view
from keel.web.service.shell import Shell

router = APIRouter(prefix="/app")
DELETE_TITLE = "Delete this organization?"
DELETE_TEXT = (
    "Its members, teams, projects and documents are deleted with it, for everyone, at once. "
    "This cannot be undone. Enter your password to confirm."
)


@router.get("/{org_id}/settings")
async def settings_page(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    org: CanReadSettingsPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    organization = await orgs.get(db, org)
    return _page(request, state, org=org, shell=shell, values=_values(organization))


@router.post("/{org_id}/settings")
async def save_settings(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    org: CanManageOrganizationPage,
    user: WebUser,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    values = {key: form.get(key, "") for key in ("name", "slug", "industry", "team_size")}
    try:
        await view.save_settings(db, org, user, view.parse_settings(values))
    except view.FormInvalid as exc:
        return _page(request, state, org=org, shell=shell, values=values, errors=exc.errors)
    except SlugTaken as exc:
        errors = {"slug": exc.detail}
        return _page(
            request,
            state,
            org=org,
            shell=shell,
            values=values,
            errors=errors,
            status_code=exc.status,
        )
    return redirect(request, org_url(org_id, "settings"), notice="Organization details saved.")


@router.get("/{org_id}/settings/delete")
async def confirm_delete(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    org: CanManageOrganizationPage,
    shell: OrgShell,
) -> Response:
    return _delete_page(request, state, org_id, shell=shell)


@router.post("/{org_id}/settings/delete")
async def delete_organization(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    org: CanManageOrganizationPage,
    user: WebUser,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    try:
        await orgs.delete(db, org, user, password=form.get("password", ""))
    except IncorrectPassword as exc:
        return _delete_page(
            request, state, org_id, shell=shell, error=exc.detail, status_code=exc.status
        )
    name = shell.organization.name if shell.organization else "The organization"
    return redirect(request, "/app", notice=f"{name} was deleted.")


def _page(
    request: Request,
    state: rules.WebSession,
    *,
    org: OrgAccess,
    shell: Shell,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status_code: int | None = None,
) -> Response:
    return render(
        request,
        "pages/members/settings.html",
        state,
        status_code=status_code or (422 if errors else 200),
        shell=shell,
        nav="settings",
        can_update=view.holds(org, "settings:update"),
        team_sizes=view.team_size_options(values.get("team_size", "")),
        values=values,
        errors=errors or {},
        delete_title=DELETE_TITLE,
        delete_text=DELETE_TEXT,
    )


def _delete_page(
    request: Request,
    state: rules.WebSession,
    org_id: uuid.UUID,
    *,
    shell: Shell,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return confirm_page(
        request,
        state,
        area="members",
        shell=shell,
        nav="settings",
        title=DELETE_TITLE,
        text=DELETE_TEXT,
        action=org_url(org_id, "settings", "delete"),
        back=org_url(org_id, "settings"),
        confirm_text="Delete organization",
        password=True,
        error=error,
        status_code=status_code,
    )


def _values(organization: Organization) -> dict[str, str]:
    return {
        "name": organization.name,
        "slug": organization.slug,
        "industry": organization.industry or "",
        "team_size": organization.team_size or "",
    }
