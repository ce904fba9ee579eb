"""What the admin pages share: their guards (the API's permissions, as ``web_requires``),
and their URLs (the confirmation page is ``keel.web.pages.common.confirm_page``)."""

from __future__ import annotations

import uuid

from keel.web.dependencies import web_requires

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
