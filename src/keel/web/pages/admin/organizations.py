"""Organizations: search every tenant, open one (members, plan, status, usage), change its
plan (the admin API's ``PUT /admin/orgs/{org_id}/plan`` call), suspend and restore it.

An organization is opened as ``staff`` (``open_org``), so a write is audited twice: the
change itself and the superadmin's override of tenancy. An unknown id is the 404 page."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from keel.access.schemas import OrgAccess
from keel.kit.deps import DbSession
from keel.kit.errors import ValidationFailed
from keel.plans.schemas import PlanChange
from keel.users.models import User
from keel.web import rules
from keel.web.dependencies import WebForm, WebPlatformOwner, WebState, WebUser
from keel.web.pages.admin.common import Cursor, Search, page
from keel.web.pages.common import problem_errors, schema_errors
from keel.web.pages.render import redirect
from keel.web.service import admin

router = APIRouter(prefix="/admin/organizations")

#: The longest suspension reason kept in the audit entry.
MAX_REASON = 500


@router.get("")
async def organizations(
    request: Request,
    *,
    state: WebState,
    owner: WebPlatformOwner,
    user: WebUser,
    db: DbSession,
    q: Search = "",
    cursor: Cursor = None,
) -> Response:
    window = await admin.organizations(db, owner, query=q, cursor=cursor)
    return page(
        request, state, "organizations.html", user=user, nav="organizations", q=q, window=window
    )


@router.get("/{org_id}")
async def organization(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    owner: WebPlatformOwner,
    user: WebUser,
    db: DbSession,
) -> Response:
    org = await admin.open_organization(db, owner, org_id)
    return await _detail(request, state, user, db, org)


@router.post("/{org_id}/plan")
async def change_plan(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    owner: WebPlatformOwner,
    user: WebUser,
    db: DbSession,
) -> Response:
    org = await admin.open_organization(db, owner, org_id, writes=True)
    try:
        changed = await admin.change_plan(db, org, PlanChange(plan=form.get("plan", "")).plan)
    except ValidationError as exc:
        return await _detail(request, state, user, db, org, errors=schema_errors(exc))
    except ValidationFailed as exc:
        errors = problem_errors(exc.extra.get("errors", []))
        return await _detail(request, state, user, db, org, errors=errors)
    notice = f"{changed.name} is on the {changed.plan} plan now."
    return redirect(request, _url(org_id), notice=notice)


@router.get("/{org_id}/suspend")
async def confirm_suspend(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    owner: WebPlatformOwner,
    user: WebUser,
    db: DbSession,
) -> Response:
    """The suspend dialog as a page, for a browser without JavaScript."""
    org = await admin.open_organization(db, owner, org_id)
    return await _confirm(request, state, user, db, org, suspend=True)


@router.get("/{org_id}/unsuspend")
async def confirm_unsuspend(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    owner: WebPlatformOwner,
    user: WebUser,
    db: DbSession,
) -> Response:
    org = await admin.open_organization(db, owner, org_id)
    return await _confirm(request, state, user, db, org, suspend=False)


@router.post("/{org_id}/suspend")
async def suspend(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    owner: WebPlatformOwner,
    user: WebUser,
    db: DbSession,
) -> Response:
    org = await admin.open_organization(db, owner, org_id, writes=True)
    return await _set_suspended(request, state, user, db, org, form=form, suspend=True)


@router.post("/{org_id}/unsuspend")
async def unsuspend(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    owner: WebPlatformOwner,
    user: WebUser,
    db: DbSession,
) -> Response:
    org = await admin.open_organization(db, owner, org_id, writes=True)
    return await _set_suspended(request, state, user, db, org, form=form, suspend=False)


async def _set_suspended(
    request: Request,
    state: rules.WebSession,
    user: User,
    db: DbSession,
    org: OrgAccess,
    *,
    form: dict[str, str],
    suspend: bool,
) -> Response:
    reason = form.get("reason", "").strip()
    if len(reason) > MAX_REASON:
        errors = {"reason": f"Keep the reason under {MAX_REASON} characters."}
        return await _confirm(request, state, user, db, org, suspend=suspend, errors=errors)
    changed = await admin.set_suspended(db, org, suspended=suspend, reason=reason or None)
    notice = f"{changed.name} is {'suspended' if suspend else 'active again'}."
    return redirect(request, _url(changed.id), notice=notice)


async def _detail(
    request: Request,
    state: rules.WebSession,
    user: User,
    db: DbSession,
    org: OrgAccess,
    *,
    errors: dict[str, str] | None = None,
) -> Response:
    """The organization's page; with ``errors``, the plan form refused (422)."""
    view = await admin.organization_detail(db, org)
    return page(
        request,
        state,
        "organization.html",
        user=user,
        nav="organizations",
        status_code=422 if errors else 200,
        view=view,
        errors=errors or {},
    )


async def _confirm(
    request: Request,
    state: rules.WebSession,
    user: User,
    db: DbSession,
    org: OrgAccess,
    *,
    suspend: bool,
    errors: dict[str, str] | None = None,
) -> Response:
    view = await admin.organization_detail(db, org)
    return page(
        request,
        state,
        "suspend.html",
        user=user,
        nav="organizations",
        status_code=422 if errors else 200,
        view=view,
        suspend=suspend,
        errors=errors or {},
    )


def _url(org_id: uuid.UUID) -> str:
    return f"/admin/organizations/{org_id}"
