"""The caller's own settings (profile, security, email preferences), their notifications
inbox, and an organization's API keys.

Each route mirrors its API endpoint: the same schema parses the form, the same service acts
(``keel.web.service.settings`` calls what ``/api/v1/me...`` and ``/api/v1/orgs/{org_id}/api-keys``
call), so audit entries and events are the API's. A refusal the user can fix on the form
(wrong password, weak password, wrong code, taken address) shows the form again with the
message at its field and the problem's status. Secrets (a new API key, recovery codes) are
shown once, in the answer to the POST that made them, never in a redirect, cookie or URL,
and with ``Cache-Control: no-store``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from keel.access.schemas import Actor, OrgAccess
from keel.auth.errors import InvalidMfaCode
from keel.auth.schemas import (
    ApiKeyCreate,
    EmailChangeRequest,
    MfaCodeRequest,
    MfaDisableRequest,
    PasswordChangeRequest,
)
from keel.kit.deps import AppResources, DbSession
from keel.kit.errors import ValidationFailed
from keel.notifications.schemas import PreferencesWrite
from keel.users.errors import EmailTaken, IncorrectPassword
from keel.users.models import User
from keel.users.schemas import UserUpdate
from keel.web import rules
from keel.web.dependencies import (
    CanManageApiKeysPage,
    EnrollingShell,
    OrgShell,
    UserShell,
    WebActor,
    WebEnrollingUser,
    WebForm,
    WebState,
    WebUser,
)
from keel.web.pages.common import confirm_page, is_htmx, problem_errors, schema_errors
from keel.web.pages.render import redirect, render
from keel.web.service import settings as service
from keel.web.service.shell import Shell

router = APIRouter(prefix="/app")

Cursor = Annotated[str | None, Query(max_length=512)]

PROFILE_URL = "/app/settings/profile"
SECURITY_URL = "/app/settings/security"
MFA_URL = "/app/settings/security/mfa"
PREFERENCES_URL = "/app/settings/notifications"
INBOX_URL = "/app/notifications"
#: Pages that show a secret: neither the browser nor a proxy may keep a copy.
NO_STORE = {"Cache-Control": "no-store"}


def _errors(exc: ValidationError | ValidationFailed) -> dict[str, str]:
    if isinstance(exc, ValidationError):
        return schema_errors(exc)
    return problem_errors(exc.extra.get("errors", []))


def _renamed(errors: Mapping[str, str], names: Mapping[str, str]) -> dict[str, str]:
    """A schema's field names as this page's inputs are named (one page, several forms:
    ids must be unique, so ``password`` may be ``email_password`` here)."""
    return {names.get(field, field): message for field, message in errors.items()}


# ---- profile ----------------------------------------------------------------------------------


@router.get("/settings")
async def settings_home(request: Request, user: WebUser) -> Response:
    return redirect(request, PROFILE_URL)


@router.get("/settings/profile")
async def profile_page(request: Request, state: WebState, shell: UserShell) -> Response:
    return _profile(request, state, shell)


@router.post("/settings/profile")
async def update_profile(
    request: Request,
    *,
    state: WebState,
    form: WebForm,
    actor: WebActor,
    user: WebUser,
    shell: UserShell,
    db: DbSession,
) -> Response:
    name = form.get("name", "")
    try:
        data = UserUpdate(name=name)
        await service.update_profile(db, actor, user, name=data.name or "")
    except (ValidationError, ValidationFailed) as exc:
        errors = _errors(exc)
        return _profile(request, state, shell, errors=errors, values={"name": name}, status=422)
    return redirect(request, PROFILE_URL, notice="Profile saved.")


@router.post("/settings/email")
async def request_email_change(
    request: Request,
    *,
    state: WebState,
    form: WebForm,
    actor: WebActor,
    user: WebUser,
    shell: UserShell,
    db: DbSession,
    resources: AppResources,
) -> Response:
    new_email = form.get("new_email", "")
    names = {"password": "email_password"}
    try:
        data = EmailChangeRequest(new_email=new_email, password=form.get("email_password", ""))
        await service.request_email_change(db, actor, user, data, settings=resources.settings)
    except (ValidationError, ValidationFailed) as exc:
        errors = _renamed(_errors(exc), names)
        return _profile(
            request, state, shell, errors=errors, values={"new_email": new_email}, status=422
        )
    except (IncorrectPassword, EmailTaken) as exc:
        field = "email_password" if isinstance(exc, IncorrectPassword) else "new_email"
        errors = {field: exc.detail}
        return _profile(
            request, state, shell, errors=errors, values={"new_email": new_email}, status=exc.status
        )
    return redirect(
        request,
        PROFILE_URL,
        notice=f"We sent a link to {data.new_email}; follow it to change your address.",
    )


def _profile(
    request: Request,
    state: rules.WebSession,
    shell: Shell,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "pages/settings/profile.html",
        state,
        status_code=status,
        shell=shell,
        nav="profile",
        errors=errors or {},
        values=values or {},
    )


# ---- security: password, two-factor, sessions -------------------------------------------------


@router.get("/settings/security")
async def security_page(
    request: Request,
    *,
    state: WebState,
    actor: WebActor,
    user: WebEnrollingUser,
    shell: EnrollingShell,
    db: DbSession,
    resources: AppResources,
) -> Response:
    return await _security(
        request, state, actor=actor, user=user, shell=shell, db=db, resources=resources
    )


@router.post("/settings/security/password")
async def change_password(
    request: Request,
    *,
    state: WebState,
    form: WebForm,
    actor: WebActor,
    user: WebUser,
    shell: UserShell,
    db: DbSession,
    resources: AppResources,
) -> Response:
    try:
        data = PasswordChangeRequest(
            current_password=form.get("current_password", ""),
            new_password=form.get("new_password", ""),
            end_other_sessions=form.get("end_other_sessions") == "on",
        )
        ended = await service.change_password(db, actor, user, data, cache=resources.cache)
    except (ValidationError, ValidationFailed) as exc:
        errors, status = _errors(exc), 422
    except IncorrectPassword as exc:
        errors, status = {"current_password": exc.detail}, exc.status
    else:
        others = f" {ended} other session{'s' if ended != 1 else ''} signed out." if ended else ""
        return redirect(request, SECURITY_URL, notice=f"Password changed.{others}")
    return await _security(
        request,
        state,
        actor=actor,
        user=user,
        shell=shell,
        db=db,
        resources=resources,
        errors=errors,
        status=status,
    )


@router.post("/settings/security/mfa")
async def start_mfa(
    request: Request,
    *,
    actor: WebActor,
    user: WebEnrollingUser,
    db: DbSession,
    resources: AppResources,
) -> Response:
    """A new secret (replacing an unconfirmed one); the next page shows it."""
    await service.start_mfa(db, actor, user, settings=resources.settings)
    return redirect(request, MFA_URL)


@router.get("/settings/security/mfa")
async def mfa_setup_page(
    request: Request,
    *,
    state: WebState,
    user: WebEnrollingUser,
    shell: EnrollingShell,
    db: DbSession,
    resources: AppResources,
) -> Response:
    return await _mfa_setup(request, state, user=user, shell=shell, db=db, resources=resources)


@router.post("/settings/security/mfa/confirm")
async def confirm_mfa(
    request: Request,
    *,
    state: WebState,
    form: WebForm,
    actor: WebActor,
    user: WebEnrollingUser,
    shell: EnrollingShell,
    db: DbSession,
    resources: AppResources,
) -> Response:
    settings = resources.settings
    try:
        data = MfaCodeRequest(code=form.get("code", "").strip())
        codes = await service.confirm_mfa(db, actor, user, code=data.code, settings=settings)
    except InvalidMfaCode as exc:
        return await _mfa_setup(
            request, state, user=user, shell=shell, db=db, resources=resources, error=exc.detail
        )
    except ValidationError:
        error = "Enter the 6-digit code your authenticator app shows now."
        return await _mfa_setup(
            request, state, user=user, shell=shell, db=db, resources=resources, error=error
        )
    return _recovery_codes(request, state, shell, codes, enabled=True)


@router.post("/settings/security/mfa/recovery-codes")
async def regenerate_recovery_codes(
    request: Request,
    *,
    state: WebState,
    form: WebForm,
    actor: WebActor,
    user: WebUser,
    shell: UserShell,
    db: DbSession,
    resources: AppResources,
) -> Response:
    try:
        data = MfaCodeRequest(code=form.get("regenerate_code", "").strip())
        codes = await service.regenerate_recovery_codes(
            db, actor, user, code=data.code, settings=resources.settings
        )
    except (ValidationError, InvalidMfaCode) as exc:
        errors = {"regenerate_code": _code_error(exc)}
        return await _security(
            request,
            state,
            actor=actor,
            user=user,
            shell=shell,
            db=db,
            resources=resources,
            errors=errors,
            status=422,
        )
    return _recovery_codes(request, state, shell, codes, enabled=False)


@router.post("/settings/security/mfa/disable")
async def disable_mfa(
    request: Request,
    *,
    state: WebState,
    form: WebForm,
    actor: WebActor,
    user: WebUser,
    shell: UserShell,
    db: DbSession,
    resources: AppResources,
) -> Response:
    try:
        data = MfaDisableRequest(
            password=form.get("disable_password", ""), code=form.get("disable_code", "").strip()
        )
        await service.disable_mfa(
            db, actor, user, password=data.password, code=data.code, settings=resources.settings
        )
    except ValidationError as exc:
        names = {"password": "disable_password", "code": "disable_code"}
        errors = _renamed(_errors(exc), names)
    except InvalidMfaCode as exc:
        errors = {"disable": exc.detail}
    else:
        return redirect(request, SECURITY_URL, notice="Two-factor authentication is off.")
    return await _security(
        request,
        state,
        actor=actor,
        user=user,
        shell=shell,
        db=db,
        resources=resources,
        errors=errors,
        status=422,
    )


def _code_error(exc: ValidationError | InvalidMfaCode) -> str:
    if isinstance(exc, InvalidMfaCode):
        return exc.detail
    return "Enter the current code from your authenticator app, or a recovery code."


@router.get("/settings/security/sessions/{session_id}/revoke")
async def revoke_session_page(
    request: Request,
    *,
    session_id: uuid.UUID,
    state: WebState,
    actor: WebActor,
    user: WebUser,
    shell: UserShell,
    db: DbSession,
) -> Response:
    """Without JavaScript, the confirmation the modal would show."""
    row = await service.user_session(db, actor, user, session_id)
    return confirm_page(
        request,
        state,
        area="settings",
        shell=shell,
        nav="security",
        title="Sign out this session?",
        text=_revoke_text(row),
        action=f"{SECURITY_URL}/sessions/{session_id}/revoke",
        confirm_text="Sign out session",
        back=SECURITY_URL,
    )


@router.post("/settings/security/sessions/{session_id}/revoke")
async def revoke_session(
    request: Request,
    *,
    session_id: uuid.UUID,
    actor: WebActor,
    user: WebUser,
    db: DbSession,
    resources: AppResources,
) -> Response:
    own = await service.revoke_session(db, actor, user, session_id, cache=resources.cache)
    if own:
        notice = "You signed out this browser. Log in again to continue."
        return redirect(request, "/login", rules.anonymous(), notice=notice)
    return redirect(request, SECURITY_URL, notice="Session signed out.")


@router.get("/settings/security/sessions/revoke-others")
async def revoke_others_page(request: Request, state: WebState, shell: UserShell) -> Response:
    return confirm_page(
        request,
        state,
        area="settings",
        shell=shell,
        nav="security",
        title="Sign out everywhere else?",
        text=REVOKE_OTHERS_TEXT,
        action=f"{SECURITY_URL}/sessions/revoke-others",
        confirm_text="Sign out other sessions",
        back=SECURITY_URL,
    )


REVOKE_OTHERS_TEXT = (
    "Every other browser and app signed in to your account is signed out at once; "
    "this one stays signed in."
)


@router.post("/settings/security/sessions/revoke-others")
async def revoke_others(
    request: Request, *, actor: WebActor, user: WebUser, db: DbSession, resources: AppResources
) -> Response:
    ended = await service.revoke_other_sessions(db, actor, user, cache=resources.cache)
    plural = "s" if ended != 1 else ""
    return redirect(request, SECURITY_URL, notice=f"{ended} other session{plural} signed out.")


def _revoke_text(row: service.SessionRow) -> str:
    where = f" from {row.ip}" if row.ip else ""
    if row.current:
        return f"This is the browser you are using ({row.device}{where}); you will be signed out."
    return f"{row.device}{where} will be signed out at once and must log in again."


async def _security(
    request: Request,
    state: rules.WebSession,
    *,
    actor: Actor,
    user: User,
    shell: Shell,
    db: DbSession,
    resources: AppResources,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    pending = await service.pending_mfa(db, user, settings=resources.settings)
    return render(
        request,
        "pages/settings/security.html",
        state,
        status_code=status,
        shell=shell,
        nav="security",
        mfa_enabled=await service.mfa_enabled(db, user),
        mfa_pending=pending is not None,
        sessions=await service.user_sessions(db, actor, user),
        revoke_others_text=REVOKE_OTHERS_TEXT,
        errors=errors or {},
    )


async def _mfa_setup(
    request: Request,
    state: rules.WebSession,
    *,
    user: User,
    shell: Shell,
    db: DbSession,
    resources: AppResources,
    error: str | None = None,
) -> Response:
    """The pending enrollment's QR code and secret; none pending (never started, or already
    on) goes back to the security page."""
    enrollment = await service.pending_mfa(db, user, settings=resources.settings)
    if enrollment is None:
        return redirect(request, SECURITY_URL)
    response = render(
        request,
        "pages/settings/mfa_setup.html",
        state,
        status_code=422 if error else 200,
        shell=shell,
        nav="security",
        enrollment=enrollment,
        errors={"code": error} if error else {},
    )
    response.headers.update(NO_STORE)
    return response


def _recovery_codes(
    request: Request, state: rules.WebSession, shell: Shell, codes: list[str], *, enabled: bool
) -> Response:
    """Shown once: the page is the answer to the POST; a reload cannot show them again."""
    response = render(
        request,
        "pages/settings/recovery_codes.html",
        state,
        shell=shell,
        nav="security",
        codes=codes,
        enabled=enabled,
    )
    response.headers.update(NO_STORE)
    return response


# ---- email preferences ------------------------------------------------------------------------


@router.get("/settings/notifications")
async def preferences_page(
    request: Request, *, state: WebState, user: WebUser, shell: UserShell, db: DbSession
) -> Response:
    return await _preferences(request, state, user, shell, db)


@router.post("/settings/notifications")
async def update_preferences(
    request: Request,
    *,
    state: WebState,
    form: WebForm,
    actor: WebActor,
    user: WebUser,
    shell: UserShell,
    db: DbSession,
) -> Response:
    """Every listed category is on the form: a box left unticked turns its email off."""
    current = await service.preferences(db, user)
    chosen = {p.category: form.get(f"email:{p.category}") == "on" for p in current.categories}
    try:
        data = PreferencesWrite.model_validate({"subscribed": chosen})
    except ValidationError as exc:
        return await _preferences(request, state, user, shell, db, errors=_errors(exc), status=422)
    await service.update_preferences(db, actor, user, data)
    return redirect(request, PREFERENCES_URL, notice="Email preferences saved.")


async def _preferences(
    request: Request,
    state: rules.WebSession,
    user: User,
    shell: Shell,
    db: DbSession,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "pages/settings/preferences.html",
        state,
        status_code=status,
        shell=shell,
        nav="email-preferences",
        preferences=await service.preferences(db, user),
        essential=service.ESSENTIAL_MAIL,
        errors=errors or {},
    )


# ---- notifications inbox ----------------------------------------------------------------------


@router.get("/notifications")
async def inbox_page(
    request: Request,
    *,
    state: WebState,
    user: WebUser,
    shell: UserShell,
    db: DbSession,
    resources: AppResources,
    cursor: Cursor = None,
    unread: bool = False,
) -> Response:
    return await _inbox(
        request,
        state,
        user=user,
        shell=shell,
        db=db,
        resources=resources,
        cursor=cursor,
        unread=unread,
    )


@router.post("/notifications/read-all")
async def mark_all_read(
    request: Request,
    *,
    state: WebState,
    form: WebForm,
    user: WebUser,
    shell: UserShell,
    db: DbSession,
    resources: AppResources,
) -> Response:
    marked = await service.mark_all_read(db, user)
    notice = f"{marked} notification{'s' if marked != 1 else ''} marked as read."
    return await _after_read(
        request, state, form=form, user=user, shell=shell, db=db, resources=resources, notice=notice
    )


@router.post("/notifications/{notification_id}/read")
async def mark_read(
    request: Request,
    *,
    notification_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    user: WebUser,
    shell: UserShell,
    db: DbSession,
    resources: AppResources,
) -> Response:
    await service.mark_read(db, user, notification_id)
    return await _after_read(
        request,
        state,
        form=form,
        user=user,
        shell=shell,
        db=db,
        resources=resources,
        notice="Marked as read.",
    )


async def _after_read(
    request: Request,
    state: rules.WebSession,
    *,
    form: Mapping[str, str],
    user: User,
    shell: Shell,
    db: DbSession,
    resources: AppResources,
    notice: str,
) -> Response:
    """htmx: the inbox list again, in place, with the header's bell (out of band). Without
    JavaScript: back to the page the form was on."""
    cursor, unread = form.get("cursor") or None, form.get("unread") == "1"
    if not is_htmx(request):
        return redirect(request, _inbox_url(cursor=cursor, unread=unread), notice=notice)
    view = await service.inbox(
        db, user, cursor=cursor, unread_only=unread, public_url=resources.settings.http.public_url
    )
    return render(
        request,
        "pages/settings/_inbox_update.html",
        state,
        shell=shell,
        inbox=view,
        cursor=cursor,
        unread=unread,
        status_text=notice,
    )


async def _inbox(
    request: Request,
    state: rules.WebSession,
    *,
    user: User,
    shell: Shell,
    db: DbSession,
    resources: AppResources,
    cursor: str | None,
    unread: bool,
) -> Response:
    view = await service.inbox(
        db, user, cursor=cursor, unread_only=unread, public_url=resources.settings.http.public_url
    )
    return render(
        request,
        "pages/settings/notifications.html",
        state,
        shell=shell,
        nav="notifications",
        inbox=view,
        cursor=cursor,
        unread=unread,
        status_text="",
    )


def _inbox_url(*, cursor: str | None = None, unread: bool = False) -> str:
    params = {"unread": "1"} if unread else {}
    params |= {"cursor": cursor} if cursor else {}
    query = urlencode(params)
    return INBOX_URL + (f"?{query}" if query else "")


# ---- API keys ---------------------------------------------------------------------------------


@router.get("/{org_id}/api-keys")
async def api_keys_page(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    org: CanManageApiKeysPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    return await _api_keys(request, state, org, shell, db)


@router.post("/{org_id}/api-keys")
async def create_api_key(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    org: CanManageApiKeysPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    values = _key_values(form)
    try:
        data = ApiKeyCreate.model_validate(_key_body(values))
        created = await service.create_api_key(db, org, data)
    except (ValidationError, ValidationFailed) as exc:
        return await _api_keys(request, state, org, shell, db, errors=_errors(exc), values=values)
    response = render(
        request,
        "pages/settings/api_key_created.html",
        state,
        shell=shell,
        nav="api-keys",
        key=created,
        keys_url=f"/app/{org_id}/api-keys",
    )
    response.headers.update(NO_STORE)
    return response


@router.get("/{org_id}/api-keys/{key_id}/revoke")
async def revoke_api_key_page(
    request: Request,
    *,
    org_id: uuid.UUID,
    key_id: uuid.UUID,
    state: WebState,
    org: CanManageApiKeysPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    """Without JavaScript, the confirmation the modal would show."""
    key = await service.api_key(db, org, key_id)
    return confirm_page(
        request,
        state,
        area="settings",
        shell=shell,
        nav="api-keys",
        title=f"Revoke “{key.name}”?",
        text=REVOKE_KEY_TEXT,
        action=f"/app/{org_id}/api-keys/{key_id}/revoke",
        confirm_text="Revoke key",
        back=f"/app/{org_id}/api-keys",
    )


REVOKE_KEY_TEXT = (
    "Requests with this key are refused from now on. This cannot be undone: "
    "a script that uses it needs a new key."
)


@router.post("/{org_id}/api-keys/{key_id}/revoke")
async def revoke_api_key(
    request: Request,
    *,
    org_id: uuid.UUID,
    key_id: uuid.UUID,
    org: CanManageApiKeysPage,
    db: DbSession,
    resources: AppResources,
) -> Response:
    await service.revoke_api_key(db, org, key_id, cache=resources.cache)
    return redirect(request, f"/app/{org_id}/api-keys", notice="API key revoked.")


def _key_values(form: Mapping[str, str]) -> dict[str, Any]:
    """The form as typed: name, the ticked ``permission:<name>`` boxes, expiry date."""
    return {
        "name": form.get("name", ""),
        "permissions": [k.removeprefix("permission:") for k in form if k.startswith("permission:")],
        "expires_at": form.get("expires_at", "").strip(),
    }


def _key_body(values: Mapping[str, Any]) -> dict[str, Any]:
    """The API's body: a date is the start of that day, UTC (the form's hint says so)."""
    expires = values["expires_at"]
    return {
        "name": values["name"],
        "permissions": values["permissions"],
        "expires_at": f"{expires}T00:00:00Z" if expires else None,
    }


async def _api_keys(
    request: Request,
    state: rules.WebSession,
    org: OrgAccess,
    shell: Shell,
    db: DbSession,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    view = await service.api_keys_page(db, org)
    return render(
        request,
        "pages/settings/api_keys.html",
        state,
        status_code=422 if errors else 200,
        shell=shell,
        nav="api-keys",
        keys=view.keys,
        grantable=view.grantable,
        errors=errors or {},
        values=values or {"permissions": []},
        revoke_text=REVOKE_KEY_TEXT,
    )
