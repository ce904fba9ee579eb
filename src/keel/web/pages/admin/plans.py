"""The plan catalog: every plan (hidden ones too) and a plan's editor (name, description,
prices, every feature and limit, rate limits, public), saved with the admin API's call
(``PATCH /api/v1/admin/plans/{plan_key}``: audited, ``plan.updated``). Refusals show at
their fields (422)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError

from keel.access.schemas import Actor
from keel.kit.deps import DbSession
from keel.kit.errors import ValidationFailed
from keel.plans.schemas import PlanUpdate
from keel.users.models import User
from keel.web import rules
from keel.web.dependencies import WebForm, WebPlatformOwner, WebState, WebUser
from keel.web.pages.admin.common import page
from keel.web.pages.common import problem_errors, schema_errors
from keel.web.pages.render import redirect
from keel.web.service import admin

router = APIRouter(prefix="/admin/plans")

PlanKey = Annotated[str, Path(max_length=64, description="The plan's key, e.g. starter.")]


@router.get("")
async def plans(
    request: Request, state: WebState, owner: WebPlatformOwner, user: WebUser, db: DbSession
) -> Response:
    catalog = await admin.plans(db, owner)
    return page(request, state, "plans.html", user=user, nav="plans", plans=catalog)


@router.get("/{plan_key}")
async def plan(
    request: Request,
    *,
    plan_key: PlanKey,
    state: WebState,
    owner: WebPlatformOwner,
    user: WebUser,
    db: DbSession,
) -> Response:
    return await _editor(request, state, user, db, owner=owner, key=plan_key)


@router.post("/{plan_key}")
async def update_plan(
    request: Request,
    *,
    plan_key: PlanKey,
    state: WebState,
    form: WebForm,
    owner: WebPlatformOwner,
    user: WebUser,
    db: DbSession,
) -> Response:
    sent = admin.read_plan_form(form)
    errors = dict(sent.errors)
    if not errors:
        try:
            data = PlanUpdate.model_validate(sent.body)
            updated = await admin.update_plan(db, owner, plan_key, data)
        except ValidationError as exc:
            errors = schema_errors(exc)
        except ValidationFailed as exc:
            errors = problem_errors(exc.extra.get("errors", []))
        else:
            return redirect(request, f"/admin/plans/{plan_key}", notice=f"{updated.name} saved.")
    return await _editor(
        request, state, user, db, owner=owner, key=plan_key, errors=errors, form=form
    )


async def _editor(
    request: Request,
    state: rules.WebSession,
    user: User,
    db: DbSession,
    *,
    owner: Actor,
    key: str,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    """The plan's form: its current values, or (``form``) what was sent, refused (422)."""
    current = await admin.plan(db, owner, key)
    return page(
        request,
        state,
        "plan.html",
        user=user,
        nav="plans",
        status_code=422 if errors else 200,
        plan=current,
        sent=form,
        features=admin.feature_fields(),
        groups=admin.rate_limit_groups(),
        errors=errors or {},
    )
