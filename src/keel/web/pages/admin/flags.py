"""Feature flags: the list (state, environment, rollout) with an on/off switch, a new flag, and
a flag's page: the rollout slider, the targeting editor (JSON, judged by the flags service:
``FlagDefinitionInvalid`` shows inline), the history with "Roll back to this version", and
deleting it. Every change is the admin API's call (``keel.flags.service``), so it is audited,
versioned and published as ``feature.*`` alike.

The switch answers htmx with the flag's row (swapped in place) and a toast; without
JavaScript its form posts and the list comes back (303)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError

from keel.access.schemas import Actor
from keel.flags.errors import FlagDefinitionInvalid, FlagKeyTaken
from keel.flags.schemas import KEY_PATTERN, FlagCreate, FlagRead, FlagToggle, FlagUpdate
from keel.kit.deps import DbSession
from keel.kit.problems import validation_errors
from keel.users.models import User
from keel.web import rules
from keel.web.dependencies import WebForm, WebPlatformOwner, WebState, WebUser
from keel.web.pages.admin.common import (
    Cursor,
    page,
    paths_and_messages,
)
from keel.web.pages.common import is_htmx, problem_errors, schema_errors
from keel.web.pages.render import redirect, render
from keel.web.service import admin

router = APIRouter(prefix="/admin/flags")

Key = Annotated[str, Path(pattern=KEY_PATTERN, max_length=100, description="The flag's key.")]
Version = Annotated[int, Path(ge=1, le=2**31)]
ENVIRONMENTS = ("all", "development", "staging", "production")


# ---- the list -----------------------------------------------------------------------------------


@router.get("")
async def flags(
    request: Request,
    *,
    state: WebState,
    owner: WebPlatformOwner,
    user: WebUser,
    db: DbSession,
    cursor: Cursor = None,
) -> Response:
    return await _list(request, state, user, db, owner=owner, cursor=cursor)


@router.post("")
async def create_flag(
    request: Request,
    *,
    state: WebState,
    form: WebForm,
    owner: WebPlatformOwner,
    user: WebUser,
    db: DbSession,
) -> Response:
    values = {name: form.get(name, "").strip() for name in ("key", "name", "description")}
    values["environment"] = form.get("environment", "all")
    try:
        data = FlagCreate.model_validate({**values, "enabled": form.get("enabled") == "on"})
        created = await admin.create_flag(db, owner, data)
    except ValidationError as exc:
        return await _list(
            request, state, user, db, owner=owner, errors=schema_errors(exc), values=values
        )
    except FlagKeyTaken as exc:
        errors = {"key": exc.detail}
        return await _list(
            request, state, user, db, owner=owner, errors=errors, values=values, status_code=409
        )
    except FlagDefinitionInvalid as exc:
        errors = problem_errors(exc.extra.get("errors", []))
        return await _list(request, state, user, db, owner=owner, errors=errors, values=values)
    return redirect(request, _url(created.key), notice=f"Flag {created.key} created.")


@router.post("/{key}/toggle")
async def toggle(
    request: Request,
    *,
    key: Key,
    state: WebState,
    form: WebForm,
    owner: WebPlatformOwner,
    db: DbSession,
) -> Response:
    """``enabled``: the state wanted (``true``/``false``), so a repeated click changes
    nothing rather than flipping back."""
    wanted = FlagToggle.model_validate({"enabled": form.get("enabled") == "true"})
    flag = await admin.toggle_flag(db, owner, key, enabled=wanted.enabled)
    notice = f"{flag.key} is {'on' if flag.enabled else 'off'}."
    if is_htmx(request):
        row = render(request, "pages/admin/flag_row.html", state, flag=flag)
        row.headers["HX-Trigger"] = json.dumps({"keelNotice": notice})
        return row
    target = _url(key) if form.get("back") == "detail" else "/admin/flags"
    return redirect(request, target, notice=notice)


async def _list(
    request: Request,
    state: rules.WebSession,
    user: User,
    db: DbSession,
    *,
    owner: Actor,
    cursor: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int | None = None,
) -> Response:
    """The list; with ``errors``, the new-flag form refused and open (422, 409 for a taken
    key)."""
    window = await admin.flags(db, owner, cursor=cursor)
    return page(
        request,
        state,
        "flags.html",
        user=user,
        nav="flags",
        status_code=status_code or (422 if errors else 200),
        window=window,
        environments=ENVIRONMENTS,
        errors=errors or {},
        values=values or {"environment": "all"},
    )


# ---- one flag -----------------------------------------------------------------------------------


@router.get("/{key}")
async def flag(
    request: Request,
    *,
    key: Key,
    state: WebState,
    owner: WebPlatformOwner,
    user: WebUser,
    db: DbSession,
    cursor: Cursor = None,
) -> Response:
    return await _detail(request, state, user, db, owner=owner, key=key, cursor=cursor)


@router.post("/{key}/rollout")
async def rollout(
    request: Request,
    *,
    key: Key,
    state: WebState,
    form: WebForm,
    owner: WebPlatformOwner,
    user: WebUser,
    db: DbSession,
) -> Response:
    raw = form.get("rollout_percentage", "").strip()
    try:
        data = FlagUpdate.model_validate({"rollout_percentage": float(raw)})
    except (ValueError, ValidationError):
        errors = {"rollout_percentage": "Give a number from 0 to 100."}
        return await _detail(
            request,
            state,
            user,
            db,
            owner=owner,
            key=key,
            errors=errors,
            values={"rollout_percentage": raw},
        )
    updated = await admin.update_flag(db, owner, key, data)
    notice = f"{key} now reaches {updated.rollout_percentage:g}% of the rest."
    return redirect(request, _url(key), notice=notice)


@router.post("/{key}/targeting")
async def targeting(
    request: Request,
    *,
    key: Key,
    state: WebState,
    form: WebForm,
    owner: WebPlatformOwner,
    user: WebUser,
    db: DbSession,
) -> Response:
    text = form.get("targeting", "")
    values = {"targeting": text}
    try:
        data = FlagUpdate.model_validate({"targeting": json.loads(text)})
        await admin.update_flag(db, owner, key, data)
    except json.JSONDecodeError as exc:
        errors = {
            "targeting": f"This is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        }
    except ValidationError as exc:
        errors = {"targeting": paths_and_messages(validation_errors(exc.errors()))}
    except FlagDefinitionInvalid as exc:
        errors = {"targeting": paths_and_messages(exc.extra.get("errors", []))}
    else:
        return redirect(request, _url(key), notice=f"Targeting of {key} saved.")
    return await _detail(
        request, state, user, db, owner=owner, key=key, errors=errors, values=values
    )


@router.get("/{key}/rollback/{version}")
async def confirm_rollback(
    request: Request,
    *,
    key: Key,
    version: Version,
    state: WebState,
    owner: WebPlatformOwner,
    user: WebUser,
    db: DbSession,
) -> Response:
    """The rollback dialog as a page, for a browser without JavaScript."""
    flag = await admin.flag(db, owner, key)
    return page(
        request, state, "flag_confirm.html", user=user, nav="flags", flag=flag, version=version
    )


@router.post("/{key}/rollback/{version}")
async def rollback(
    request: Request,
    *,
    key: Key,
    version: Version,
    state: WebState,
    owner: WebPlatformOwner,
    db: DbSession,
) -> Response:
    """A version this flag never had is the 422 page (``unknown_flag_version``): the page
    only offers versions of its history."""
    await admin.rollback_flag(db, owner, key, version)
    return redirect(request, _url(key), notice=f"{key} is back to version {version}'s definition.")


@router.get("/{key}/delete")
async def confirm_delete(
    request: Request,
    *,
    key: Key,
    state: WebState,
    owner: WebPlatformOwner,
    user: WebUser,
    db: DbSession,
) -> Response:
    flag = await admin.flag(db, owner, key)
    return page(
        request, state, "flag_confirm.html", user=user, nav="flags", flag=flag, version=None
    )


@router.post("/{key}/delete")
async def delete(
    request: Request, key: Key, state: WebState, owner: WebPlatformOwner, db: DbSession
) -> Response:
    await admin.delete_flag(db, owner, key)
    return redirect(request, "/admin/flags", notice=f"Flag {key} deleted; its history stays.")


async def _detail(
    request: Request,
    state: rules.WebSession,
    user: User,
    db: DbSession,
    *,
    owner: Actor,
    key: str,
    cursor: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """The flag's page; with ``errors``, a form refused (422) and shown with what was sent."""
    flag = await admin.flag(db, owner, key)
    history = await admin.flag_history(db, owner, key, cursor=cursor)
    shown = {
        "rollout_percentage": f"{flag.rollout_percentage:g}",
        "targeting": admin.targeting_text(_targeting_of(flag)),
        **(values or {}),
    }
    return page(
        request,
        state,
        "flag.html",
        user=user,
        nav="flags",
        status_code=422 if errors else 200,
        flag=flag,
        history=history,
        errors=errors or {},
        values=shown,
    )


def _targeting_of(flag: FlagRead) -> dict[str, Any]:
    return flag.targeting.model_dump(mode="json")


def _url(key: str) -> str:
    return f"/admin/flags/{key}"
