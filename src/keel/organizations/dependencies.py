"""Who may call a tenant route, declared in its signature (GUIDE §3.3).

``OrgMember`` proves the caller belongs to the ``{org_id}`` of the path (404 otherwise, for
every verb) and sets the tenant for row-level security. ``requires("area:verb")`` builds the
named aliases below: the caller must hold the permission at *some* scope (403 otherwise);
services then check the scope against the row they fetched. Each alias's dependency is registered
in ``keel.access.dependencies.REQUIREMENTS``, which the architecture test reads to prove every
route is guarded.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access import service as access
from keel.access.dependencies import requirement
from keel.access.schemas import OrgAccess
from keel.auth.dependencies import CurrentActor
from keel.auth.service import mfa
from keel.kit import ratelimit
from keel.kit.deps import SAFE_METHODS, AppResources, AppSettings, DbSession, Resources
from keel.kit.errors import PermissionDenied
from keel.organizations.service import access as org_access
from keel.plans import service as plans_service
from keel.users import service as users_service

#: Organization-wide administrative permissions: an admin past the MFA grace period must
#: enroll before using them.
ADMIN_PERMISSIONS = frozenset(
    {"users:create", "users:update", "users:delete", "billing:update", "settings:update"}
)


@requirement("member")
async def org_member(
    org_id: uuid.UUID,
    request: Request,
    actor: CurrentActor,
    db: DbSession,
    resources: AppResources,
) -> OrgAccess:
    org = await org_access.open_org(db, actor, org_id, writes=request.method not in SAFE_METHODS)
    await _admit(request, db, resources, org)
    return org


async def _admit(request: Request, db: AsyncSession, resources: Resources, org: OrgAccess) -> None:
    """The plan's say on every tenant request of a member or API key: API access, the
    monthly quota (counted here), the organization's ``api`` rate limit (shared by every
    process through Redis). The platform owner acting in an organization it does not belong
    to is not the organization's use."""
    if org.role is None and org.actor.kind != "api_key":
        return
    terms = await plans_service.admit_request(db, org)
    await _enforce(request, resources, org, "api", terms)


async def _enforce(
    request: Request,
    resources: Resources,
    org: OrgAccess,
    group: str,
    terms: plans_service.RateLimit | None,
) -> None:
    if terms is not None:
        await ratelimit.enforce(
            request,
            resources.limiter,
            key=f"org:{org.org_id}:{group}",
            limit=terms.limit,
            window_seconds=terms.window_seconds,
        )


OrgMember = Annotated[OrgAccess, Depends(org_member)]


def rate_limited(group: str) -> Any:
    """``Annotated[OrgAccess, Depends(...)]`` for a route of a rate-limited endpoint group
    of the plan catalog (``generate``, ``analytics``): counted per organization on top of
    the ``api`` limit every tenant route has."""
    if group not in plans_service.RATE_LIMIT_GROUPS or group == "api":
        raise ValueError(f"unknown endpoint group {group!r}")

    async def dependency(
        request: Request, org: OrgMember, db: DbSession, resources: AppResources
    ) -> OrgAccess:
        await _enforce(
            request, resources, org, group, await plans_service.rate_limit(db, org, group)
        )
        return org

    dependency.__name__ = f"rate_limited_{group}"
    return Annotated[OrgAccess, Depends(dependency)]


def requires(permission: str) -> Any:
    """``Annotated[OrgAccess, Depends(...)]`` for a route that needs ``permission``."""

    @requirement(permission)
    async def dependency(org: OrgMember, db: DbSession, settings: AppSettings) -> OrgAccess:
        if not access.holds_somewhere(org, permission):
            raise PermissionDenied(
                f"Your role in this organization does not include {permission}; ask an admin.",
                permission=permission,
            )
        if permission in ADMIN_PERMISSIONS:
            await admin_mfa_gate(db, org, grace_days=settings.auth.mfa_grace_days)
        return org

    dependency.__name__ = f"requires_{permission.replace(':', '_')}"
    return Annotated[OrgAccess, Depends(dependency)]


async def admin_mfa_gate(db: AsyncSession, org: OrgAccess, *, grace_days: int) -> None:
    """An organization admin past the MFA grace period may do nothing administrative until
    they enrol (the API and the pages share this gate)."""
    user_id = org.actor.user_id
    if org.role != "admin" or org.actor.kind != "user" or user_id is None:
        return
    user = await users_service.get(db, user_id)
    if user is not None and org.member_since is not None:
        await mfa.ensure_admin_may_act(
            db, user, admin_since=org.member_since, grace_days=grace_days
        )


CanManageOrganization = requires("settings:update")
CanReadMembers = requires("users:read")
CanInviteMembers = requires("users:create")
CanManageMembers = requires("users:update")
CanRemoveMembers = requires("users:delete")
CanReadTeams = requires("team:read")
CanManageTeams = requires("team:write")
CanManageAccess = requires("settings:update")
CanReadAuditLog = requires("audit:read")
#: Membership plus the plan's per-organization limit of these endpoint groups (AI generation,
#: analytics); their routes arrive with those domains.
WithinGenerateLimit = rate_limited("generate")
WithinAnalyticsLimit = rate_limited("analytics")
CanReadWebhooks = requires("webhooks:read")
CanManageWebhooks = requires("webhooks:write")
