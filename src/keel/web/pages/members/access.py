"""``/app/{org_id}/access``: roles (the built-in ones read-only, the organization's custom
roles), access policies (ABAC), and the explain tool. Everything here needs
``settings:update``, as ``/api/v1/orgs/{org_id}/roles``, ``.../access/policies`` and
``.../access/explain`` do; each form is validated by the API's own schema, so a policy's
conditions (JSON, as the API takes them) fail here with the API's messages, at the field."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from keel.access.schemas import OrgAccess
from keel.kit.deps import DbSession
from keel.kit.errors import ValidationFailed
from keel.organizations.errors import RoleNameTaken
from keel.organizations.schemas import ExplainRead, PolicyRead
from keel.organizations.service import policies, roles
from keel.web import rules
from keel.web.dependencies import OrgShell, WebForm, WebState
from keel.web.pages.common import confirm_page
from keel.web.pages.members.common import CanManageAccessPage, org_url
from keel.web.pages.render import redirect, render
from keel.web.service import members as view
from keel.web.service.shell import Shell

router = APIRouter(prefix="/app")


@router.get("/{org_id}/access")
async def access_page(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    org: CanManageAccessPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    return await _access_page(request, state, org=org, shell=shell, db=db)


@router.post("/{org_id}/access/explain")
async def explain(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    org: CanManageAccessPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    """The decision is the answer of a form, not a change: shown on the page, not redirected."""
    values = dict(form)
    errors: dict[str, str] = {}
    answer: ExplainRead | None = None
    try:
        answer = await policies.explain(db, org, view.parse_explain(form))
    except view.FormInvalid as exc:
        errors = exc.errors
    except ValidationFailed as exc:
        errors = view.service_errors(exc, view.EXPLAIN_FIELDS)
    return await _access_page(
        request, state, org=org, shell=shell, db=db, errors=errors, values=values, explained=answer
    )


# ---- custom roles ----------------------------------------------------------------------------


@router.get("/{org_id}/access/roles/new")
async def new_role(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    org: CanManageAccessPage,
    shell: OrgShell,
) -> Response:
    return _role_page(request, state, shell=shell, role_id=None, values={"name": ""})


@router.post("/{org_id}/access/roles")
async def create_role(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    org: CanManageAccessPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    try:
        role = await roles.create(db, org, view.parse_custom_role(form))
    except (view.FormInvalid, RoleNameTaken, ValidationFailed) as exc:
        return _role_refused(request, state, shell=shell, role_id=None, form=form, exc=exc)
    return redirect(request, _access(org_id), notice=f"Role “{role.name}” created.")


@router.get("/{org_id}/access/roles/{role_id}")
async def edit_role(
    request: Request,
    *,
    org_id: uuid.UUID,
    role_id: uuid.UUID,
    state: WebState,
    org: CanManageAccessPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    role = await roles.get(db, org, role_id)
    values = {"name": role.name, "description": role.description or ""}
    values |= {f"scope.{p}": s for p, s in view.role_scopes(role.grants).items()}
    return _role_page(request, state, shell=shell, role_id=role_id, values=values)


@router.post("/{org_id}/access/roles/{role_id}")
async def update_role(
    request: Request,
    *,
    org_id: uuid.UUID,
    role_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    org: CanManageAccessPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    try:
        data = view.parse_custom_role_update(form)
        role = await roles.update(db, org, role_id, data)
    except (view.FormInvalid, RoleNameTaken, ValidationFailed) as exc:
        await roles.get(db, org, role_id)  # a bad form for another tenant's role: still 404
        return _role_refused(request, state, shell=shell, role_id=role_id, form=form, exc=exc)
    return redirect(request, _access(org_id), notice=f"Role “{role.name}” saved.")


@router.get("/{org_id}/access/roles/{role_id}/delete")
async def confirm_delete_role(
    request: Request,
    *,
    org_id: uuid.UUID,
    role_id: uuid.UUID,
    state: WebState,
    org: CanManageAccessPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    role = await roles.get(db, org, role_id)
    return confirm_page(
        request,
        state,
        area="members",
        shell=shell,
        nav="access",
        title=f"Delete the role “{role.name}”?",
        text="Members who hold it keep their built-in role only. This cannot be undone.",
        action=org_url(org_id, "access", "roles", role_id, "delete"),
        back=org_url(org_id, "access", "roles", role_id),
    )


@router.post("/{org_id}/access/roles/{role_id}/delete")
async def delete_role(
    request: Request,
    *,
    org_id: uuid.UUID,
    role_id: uuid.UUID,
    org: CanManageAccessPage,
    db: DbSession,
) -> Response:
    await roles.delete(db, org, role_id)
    return redirect(request, _access(org_id), notice="Role deleted.")


# ---- access policies -------------------------------------------------------------------------


@router.get("/{org_id}/access/policies/new")
async def new_policy(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    org: CanManageAccessPage,
    shell: OrgShell,
) -> Response:
    values = {"conditions": "[]", "enabled": "on", "effect": "allow"}
    return _policy_page(request, state, shell=shell, policy=None, values=values)


@router.post("/{org_id}/access/policies")
async def create_policy(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    org: CanManageAccessPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    try:
        policy = await policies.create(db, org, view.parse_policy_create(form))
    except (view.FormInvalid, ValidationFailed) as exc:
        return _policy_page(
            request,
            state,
            shell=shell,
            policy=None,
            values=dict(form),
            errors=_errors_of(exc),
            status_code=_status_of(exc),
        )
    return redirect(request, _access(org_id), notice=f"Policy “{policy.name}” created.")


@router.get("/{org_id}/access/policies/{policy_id}")
async def edit_policy(
    request: Request,
    *,
    org_id: uuid.UUID,
    policy_id: uuid.UUID,
    state: WebState,
    org: CanManageAccessPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    policy = await policies.get(db, org, policy_id)
    return _policy_page(
        request, state, shell=shell, policy=policy, values=view.policy_values(policy)
    )


@router.post("/{org_id}/access/policies/{policy_id}")
async def update_policy(
    request: Request,
    *,
    org_id: uuid.UUID,
    policy_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    org: CanManageAccessPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    policy = await policies.get(db, org, policy_id)
    try:
        saved = await policies.update(db, org, policy_id, view.parse_policy_update(form))
    except (view.FormInvalid, ValidationFailed) as exc:
        return _policy_page(
            request,
            state,
            shell=shell,
            policy=policy,
            values=dict(form),
            errors=_errors_of(exc),
            status_code=_status_of(exc),
        )
    return redirect(request, _access(org_id), notice=f"Policy “{saved.name}” saved.")


@router.get("/{org_id}/access/policies/{policy_id}/delete")
async def confirm_delete_policy(
    request: Request,
    *,
    org_id: uuid.UUID,
    policy_id: uuid.UUID,
    state: WebState,
    org: CanManageAccessPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    policy = await policies.get(db, org, policy_id)
    return confirm_page(
        request,
        state,
        area="members",
        shell=shell,
        nav="access",
        title=f"Delete the policy “{policy.name}”?",
        text="Requests are decided without it from the next one on. This cannot be undone.",
        action=org_url(org_id, "access", "policies", policy_id, "delete"),
        back=org_url(org_id, "access", "policies", policy_id),
    )


@router.post("/{org_id}/access/policies/{policy_id}/delete")
async def delete_policy(
    request: Request,
    *,
    org_id: uuid.UUID,
    policy_id: uuid.UUID,
    org: CanManageAccessPage,
    db: DbSession,
) -> Response:
    await policies.delete(db, org, policy_id)
    return redirect(request, _access(org_id), notice="Policy deleted.")


# ---- rendering -------------------------------------------------------------------------------


async def _access_page(
    request: Request,
    state: rules.WebSession,
    *,
    org: OrgAccess,
    shell: Shell,
    db: DbSession,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    explained: ExplainRead | None = None,
) -> Response:
    return render(
        request,
        "pages/members/access.html",
        state,
        status_code=422 if errors else 200,
        shell=shell,
        nav="access",
        view=await view.access_view(db, org),
        scopes=view.ROLE_SCOPES,
        explained=explained,
        errors=errors or {},
        values=values or {},
    )


def _role_page(
    request: Request,
    state: rules.WebSession,
    *,
    shell: Shell,
    role_id: uuid.UUID | None,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "pages/members/role.html",
        state,
        status_code=status_code,
        shell=shell,
        nav="access",
        role_id=role_id,
        permissions=view.permission_rows(),
        scopes=view.ROLE_SCOPES,
        values=values,
        errors=errors or {},
    )


def _role_refused(
    request: Request,
    state: rules.WebSession,
    *,
    shell: Shell,
    role_id: uuid.UUID | None,
    form: dict[str, str],
    exc: Exception,
) -> Response:
    errors = {"name": exc.detail} if isinstance(exc, RoleNameTaken) else _errors_of(exc)
    return _role_page(
        request,
        state,
        shell=shell,
        role_id=role_id,
        values=dict(form),
        errors=errors,
        status_code=_status_of(exc),
    )


def _policy_page(
    request: Request,
    state: rules.WebSession,
    *,
    shell: Shell,
    policy: PolicyRead | None,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "pages/members/policy.html",
        state,
        status_code=status_code,
        shell=shell,
        nav="access",
        policy=policy,
        permissions=view.permission_rows(),
        values=values,
        errors=errors or {},
    )


def _errors_of(exc: Exception) -> dict[str, str]:
    if isinstance(exc, view.FormInvalid):
        return exc.errors
    if isinstance(exc, ValidationFailed):
        return view.service_errors(exc, view.POLICY_FIELDS)
    return {"form": str(exc)}


def _status_of(exc: Exception) -> int:
    return exc.status if isinstance(exc, (ValidationFailed, RoleNameTaken)) else 422


def _access(org_id: uuid.UUID) -> str:
    return org_url(org_id, "access")
