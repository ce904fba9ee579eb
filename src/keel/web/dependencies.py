"""Who is calling a page, declared in its signature like the API's (GUIDE §3.3).

``WebActor`` resolves the session cookie to the same Actor a bearer token of that session
gives (``keel.web.service.actor_for``); ``WebMember`` and ``web_requires(...)`` then prove
membership and permissions exactly as ``OrgMember`` and ``requires(...)`` do, with the same
tenancy, rate limit and 404-before-403 order. Each is registered as a requirement, so the
architecture test sees every page's guard. ``csrf_guard`` runs on every page route: an unsafe
method must carry the session's CSRF token (form field or ``X-CSRF-Token`` header).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access import service as access
from keel.access.dependencies import request_actor, requirement
from keel.access.schemas import Actor, OrgAccess
from keel.auth.errors import MfaEnrollmentRequired
from keel.auth.service import mfa
from keel.kit import ratelimit
from keel.kit.deps import SAFE_METHODS, AppResources, DbSession, Resources
from keel.kit.errors import PermissionDenied
from keel.organizations.dependencies import ADMIN_PERMISSIONS, admin_mfa_gate
from keel.organizations.service import access as org_access
from keel.plans import service as plans_service
from keel.users.models import ACTIVE, User
from keel.web import rules, service
from keel.web.errors import CsrfFailed, SignInRequired
from keel.web.service import shell

FORM_TYPE = "application/x-www-form-urlencoded"
#: Fields one form may carry: a checkbox group sends one per ticked box (a webhook's event
#: types: the whole event catalog, some 50 today), so a few times that; more is an attack
#: on the parser.
MAX_FORM_FIELDS = 200


async def web_state(request: Request, resources: AppResources) -> rules.WebSession:
    """The cookie's state, or a fresh anonymous one the response must set."""
    settings = resources.settings
    name = rules.cookie_name(development=settings.is_development)
    state = rules.decode(request.cookies.get(name), signing_key(resources))
    return state or rules.anonymous()


WebState = Annotated[rules.WebSession, Depends(web_state)]


async def web_form(request: Request) -> dict[str, str]:
    """The urlencoded form (what browsers and htmx send); other bodies are empty forms, so
    they fail the CSRF check rather than reach a page."""
    if request.method in SAFE_METHODS:
        return {}
    if request.headers.get("content-type", "").split(";")[0].strip() != FORM_TYPE:
        return {}
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        return dict(parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS))
    except ValueError:
        return {}


WebForm = Annotated[dict[str, str], Depends(web_form)]


async def csrf_guard(
    request: Request, state: WebState, form: WebForm, resources: AppResources
) -> None:
    """Not an authorization requirement: a second, per-session proof that an unsafe request
    came from this site's own page."""
    if request.method in SAFE_METHODS:
        return
    presented = form.get(rules.CSRF_FIELD) or request.headers.get(rules.CSRF_HEADER)
    if not rules.csrf_valid(state, signing_key(resources), presented):
        raise CsrfFailed("This form has expired or was not sent from Keel; reload the page.")


@requirement("authenticated")
async def web_actor(
    request: Request, state: WebState, db: DbSession, resources: AppResources
) -> Actor:
    actor = await service.actor_for(db, state, request_actor(request), cache=resources.cache)
    if actor is None:
        raise SignInRequired("Log in to see this page.")
    return actor


WebActor = Annotated[Actor, Depends(web_actor)]


async def web_user(actor: WebActor, db: DbSession) -> User:
    """The caller's row, gated like the API's ``CurrentUser``: a disabled account is signed
    out, and the platform owner must have MFA on."""
    user = await service.user_of(db, actor)
    if user is None or user.status != ACTIVE:
        raise SignInRequired("This account is disabled; contact the administrator.")
    if user.is_superadmin and not await mfa.is_enabled(db, user.id):
        raise MfaEnrollmentRequired(
            "The platform owner must turn on two-factor authentication first."
        )
    return user


WebUser = Annotated[User, Depends(web_user)]


@requirement("superadmin")
async def web_platform_owner(user: WebUser, actor: WebActor) -> Actor:
    """The God dashboard's guard, as the API's ``PlatformOwner``: a superadmin with MFA on
    (``WebUser`` refuses one without), acting as ``staff`` so the audit log says the platform
    did it. Anyone else gets the 403 page, as the admin API answers 403."""
    if not user.is_superadmin:
        raise PermissionDenied("Only the platform owner (superadmin) may open the God dashboard.")
    return replace(actor, kind="staff", on_behalf_of=user.id)


WebPlatformOwner = Annotated[Actor, Depends(web_platform_owner)]


@requirement("member")
async def web_member(
    org_id: uuid.UUID, request: Request, actor: WebActor, db: DbSession, resources: AppResources
) -> OrgAccess:
    """Another tenant's organization is a 404 page, never a 403. The organization's ``api``
    rate limit is the API's own bucket: a browser and a script of one tenant share it."""
    org = await org_access.open_org(db, actor, org_id, writes=request.method not in SAFE_METHODS)
    await _enforce_rate_limit(request, db, resources, org)
    return org


async def _enforce_rate_limit(
    request: Request, db: AsyncSession, resources: Resources, org: OrgAccess
) -> None:
    terms = await plans_service.rate_limit(db, org, "api")
    if terms is not None and org.role is not None:
        await ratelimit.enforce(
            request,
            resources.limiter,
            key=f"org:{org.org_id}:api",
            limit=terms.limit,
            window_seconds=terms.window_seconds,
        )


WebMember = Annotated[OrgAccess, Depends(web_member)]


def web_requires(permission: str) -> Any:
    """``Annotated[OrgAccess, Depends(...)]`` for a page that needs ``permission``."""

    @requirement(permission)
    async def dependency(org: WebMember, db: DbSession, resources: AppResources) -> OrgAccess:
        if not access.holds_somewhere(org, permission):
            raise PermissionDenied(
                f"Your role in this organization does not include {permission}; ask an admin.",
                permission=permission,
            )
        if permission in ADMIN_PERMISSIONS:
            grace_days = resources.settings.auth.mfa_grace_days
            await admin_mfa_gate(db, org, grace_days=grace_days)
        return org

    dependency.__name__ = f"web_requires_{permission.replace(':', '_')}"
    return Annotated[OrgAccess, Depends(dependency)]


CanWriteDocumentsPage = web_requires("documents:write")
#: The organization admin pages (plan, audit log, webhooks): the API's permissions.
CanReadBillingPage = web_requires("billing:read")
CanReadAuditPage = web_requires("audit:read")
CanReadWebhooksPage = web_requires("webhooks:read")
CanManageWebhooksPage = web_requires("webhooks:write")


async def org_shell(org: WebMember, user: WebUser, db: DbSession) -> shell.Shell:
    """The frame of a page about one organization (``/app/{org_id}/...``)."""
    return await shell.for_org(db, user, org)


OrgShell = Annotated[shell.Shell, Depends(org_shell)]


async def user_shell(user: WebUser, db: DbSession) -> shell.Shell:
    """The frame of a page of the user's own (``/app/settings/...``, notifications)."""
    return await shell.for_user(db, user)


UserShell = Annotated[shell.Shell, Depends(user_shell)]


def signing_key(resources: Resources) -> bytes:
    return rules.signing_key(resources.settings.secret_key.get_secret_value())


async def web_enrolling_user(actor: WebActor, db: DbSession) -> User:
    """The caller like ``WebUser`` but without the platform owner's MFA gate (as the API's
    ``EnrollingUser``): the pages where they turn two-factor on must open before it is on."""
    user = await service.user_of(db, actor)
    if user is None or user.status != ACTIVE:
        raise SignInRequired("This account is disabled; contact the administrator.")
    return user


WebEnrollingUser = Annotated[User, Depends(web_enrolling_user)]


async def enrolling_shell(user: WebEnrollingUser, db: DbSession) -> shell.Shell:
    """The frame of the two-factor enrollment pages (``WebEnrollingUser``)."""
    return await shell.for_user(db, user)


EnrollingShell = Annotated[shell.Shell, Depends(enrolling_shell)]
#: ``settings:update``, as the API's ``CanManageAccess`` on ``/orgs/{org_id}/api-keys``.
CanManageApiKeysPage = web_requires("settings:update")
