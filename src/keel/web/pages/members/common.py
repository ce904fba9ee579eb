"""What the admin pages share: their guards (the API's permissions, as ``web_requires``),
their URLs, and the confirmation page a delete shows without JavaScript."""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import Response

from keel.web import rules
from keel.web.dependencies import web_requires
from keel.web.pages.render import render
from keel.web.service.shell import Shell

CanReadMembersPage = web_requires("users:read")
CanInviteMembersPage = web_requires("users:create")
CanManageMembersPage = web_requires("users:update")
CanRemoveMembersPage = web_requires("users:delete")
CanReadTeamsPage = web_requires("team:read")
CanManageTeamsPage = web_requires("team:write")
CanManageAccessPage = web_requires("settings:update")
CanReadSettingsPage = web_requires("settings:read")
CanManageOrganizationPage = web_requires("settings:update")


def org_url(org_id: uuid.UUID, *parts: object) -> str:
    """``/app/{org_id}/members/...``: the pages' URLs in one place."""
    return "/".join([f"/app/{org_id}", *(str(part) for part in parts)])


def confirm_page(
    request: Request,
    state: rules.WebSession,
    *,
    shell: Shell,
    nav: str,
    title: str,
    text: str,
    action: str,
    back: str,
    confirm_text: str = "Delete",
    password: bool = False,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    """The confirmation of an irreversible action as a page: what the modal shows, for a
    browser without JavaScript (the modal's opener links here)."""
    return render(
        request,
        "pages/members/confirm.html",
        state,
        status_code=status_code,
        shell=shell,
        nav=nav,
        title=title,
        text=text,
        action=action,
        back=back,
        confirm_text=confirm_text,
        password=password,
        error=error,
    )
