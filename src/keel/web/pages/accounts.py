"""The pages emails link to: verify an address, forgot/reset a password, unlock an account,
accept an invitation. Each calls the service its API endpoint calls.

A link's page never acts on GET: mail scanners and link previews fetch GETs, so opening the
link shows a button, and the button POSTs the token (with the CSRF token). The anonymous
forms share the per-IP budget of ``/api/v1/auth/*`` (``AuthIpLimit``), as login does; the
"we sent an email" answers read the same whether or not the account exists.
"""

from __future__ import annotations

import inspect
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.dependencies import RequestActor
from keel.auth.dependencies import AuthIpLimit
from keel.auth.errors import TokenInvalid
from keel.auth.schemas import EmailRequest, PasswordResetRequest, TokenRequest
from keel.auth.service import login as login_service
from keel.auth.service import registration
from keel.kit.deps import AppResources, DbSession
from keel.kit.errors import AppError, ValidationFailed
from keel.organizations.errors import AlreadyMember, InvitationEmailMismatch, InvitationInvalid
from keel.organizations.schemas import InvitationAccept
from keel.organizations.service import invitations
from keel.users.models import User
from keel.web import rules
from keel.web.dependencies import WebActor, WebForm, WebState, WebUser
from keel.web.pages.common import schema_errors
from keel.web.pages.render import redirect, render
from keel.web.service import accounts as service

router = APIRouter()

#: The token of an emailed link (``?token=...``); absent means an incomplete link.
LinkToken = Annotated[str, Query(max_length=1000)]
VERIFY = "pages/accounts/verify_email.html"
SENT = "pages/accounts/check_email.html"
FORGOT = "pages/accounts/forgot_password.html"
RESET = "pages/accounts/reset_password.html"
UNLOCK = "pages/accounts/unlock.html"
INVITATION = "pages/accounts/invitation.html"
INCOMPLETE_LINK = (
    "This link is incomplete: copy the whole link from the email into the address bar, "
    "or request a new one."
)
PASSWORDS_DIFFER = "The two passwords differ; type the same new password twice."


# ---- email verification -----------------------------------------------------------------------


@router.get("/verify-email")
async def verify_email_page(request: Request, state: WebState, token: LinkToken = "") -> Response:
    error = None if token else INCOMPLETE_LINK
    return _verify_page(request, state, token=token, error=error, status=200 if token else 400)


@router.post("/verify-email", dependencies=[AuthIpLimit])
async def verify_email(
    request: Request, *, state: WebState, form: WebForm, actor: RequestActor, db: DbSession
) -> Response:
    try:
        data = TokenRequest(token=form.get("token", ""))
        await registration.verify_email(db, actor, token=data.token)
    except ValidationError:
        return _verify_page(request, state, error=INCOMPLETE_LINK, status=400)
    except TokenInvalid as exc:
        return _verify_page(request, state, error=exc.detail, status=exc.status)
    return render(request, "pages/accounts/verified.html", state)


@router.post("/verify-email/resend", dependencies=[AuthIpLimit])
async def resend_verification(
    request: Request,
    *,
    state: WebState,
    form: WebForm,
    actor: RequestActor,
    db: DbSession,
    resources: AppResources,
) -> Response:
    email = form.get("email", "")
    try:
        data = EmailRequest(email=email)
    except ValidationError as exc:
        errors = schema_errors(exc)
        return _verify_page(request, state, values={"email": email}, errors=errors, status=422)
    await registration.resend_verification(
        db, actor, email=data.email, settings=resources.settings, limiter=resources.limiter
    )
    return render(request, SENT, state, email=data.email, purpose="verify")


def _verify_page(
    request: Request,
    state: rules.WebSession,
    *,
    token: str = "",
    error: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The button that verifies (with a token), or the form that sends a new link."""
    return render(
        request,
        VERIFY,
        state,
        status_code=status,
        token="" if error else token,
        error=error,
        values=values or {},
        errors=errors or {},
    )


# ---- forgotten password -----------------------------------------------------------------------


@router.get("/password/forgot")
async def forgot_password_page(request: Request, state: WebState) -> Response:
    return render(request, FORGOT, state, values={}, errors={})


@router.post("/password/forgot", dependencies=[AuthIpLimit])
async def forgot_password(
    request: Request,
    *,
    state: WebState,
    form: WebForm,
    actor: RequestActor,
    db: DbSession,
    resources: AppResources,
) -> Response:
    email = form.get("email", "")
    try:
        data = EmailRequest(email=email)
    except ValidationError as exc:
        errors = schema_errors(exc)
        return render(
            request, FORGOT, state, status_code=422, values={"email": email}, errors=errors
        )
    await registration.forgot_password(
        db, actor, email=data.email, settings=resources.settings, limiter=resources.limiter
    )
    minutes = resources.settings.auth.reset_minutes
    return render(request, SENT, state, email=data.email, purpose="reset", minutes=minutes)


# ---- password reset ---------------------------------------------------------------------------


@router.get("/reset-password")
async def reset_password_page(request: Request, state: WebState, token: LinkToken = "") -> Response:
    error = None if token else INCOMPLETE_LINK
    return render(
        request,
        RESET,
        state,
        status_code=200 if token else 400,
        token=token,
        error=error,
        errors={},
    )


@router.post("/reset-password", dependencies=[AuthIpLimit])
async def reset_password(
    request: Request,
    *,
    state: WebState,
    form: WebForm,
    actor: RequestActor,
    db: DbSession,
    resources: AppResources,
) -> Response:
    token, password = form.get("token", ""), form.get("password", "")
    if password != form.get("password_confirm", ""):
        return _reset_refused(request, state, token, {"password_confirm": PASSWORDS_DIFFER}, 422)
    try:
        data = PasswordResetRequest(token=token, password=password)
    except ValidationError as exc:
        return _reset_refused(request, state, token, schema_errors(exc), 422)
    try:
        await service.reset_password(
            db,
            actor,
            token=data.token,
            password=data.password,
            settings=resources.settings,
            cache=resources.cache,
        )
    except ValidationFailed as exc:
        problems = exc.extra.get("errors") or [{"field": "password", "message": exc.detail}]
        return _reset_refused(request, state, token, rules.field_errors(problems), 422)
    except TokenInvalid as exc:
        return render(request, RESET, state, status_code=exc.status, error=exc.detail, errors={})
    notice = "Your password is changed. Log in with the new one."
    # Every session of the account ended with the reset, this browser's too.
    return redirect(request, "/login", rules.anonymous(), notice=notice)


def _reset_refused(
    request: Request, state: rules.WebSession, token: str, errors: dict[str, str], status: int
) -> Response:
    """The form again, the token kept: a refused password leaves the link usable."""
    if not token or "token" in errors:
        return render(request, RESET, state, status_code=400, error=INCOMPLETE_LINK, errors={})
    return render(request, RESET, state, status_code=status, token=token, error=None, errors=errors)


# ---- unlock -----------------------------------------------------------------------------------


@router.get("/unlock")
async def unlock_page(request: Request, state: WebState, token: LinkToken = "") -> Response:
    error = None if token else INCOMPLETE_LINK
    return render(
        request, UNLOCK, state, status_code=200 if token else 400, token=token, error=error
    )


@router.post("/unlock", dependencies=[AuthIpLimit])
async def unlock(
    request: Request,
    *,
    state: WebState,
    form: WebForm,
    actor: RequestActor,
    db: DbSession,
    resources: AppResources,
) -> Response:
    try:
        data = TokenRequest(token=form.get("token", ""))
        await login_service.unlock(db, actor, token=data.token, cache=resources.cache)
    except ValidationError:
        return render(request, UNLOCK, state, status_code=400, token="", error=INCOMPLETE_LINK)
    except TokenInvalid as exc:
        return render(request, UNLOCK, state, status_code=exc.status, token="", error=exc.detail)
    return redirect(request, "/login", notice="Your account is unlocked. You can log in again.")


# ---- invitations ------------------------------------------------------------------------------


@router.get("/invitations/accept")
async def invitation_page(
    request: Request,
    *,
    state: WebState,
    actor: RequestActor,
    db: DbSession,
    resources: AppResources,
    token: LinkToken = "",
) -> Response:
    """Anyone with the link sees what it offers; only a signed-in person gets the button."""
    seen = await service.viewer(db, state, actor, cache=resources.cache)
    return await _invitation_page(request, state, db, token=token, user=seen[1] if seen else None)


@router.post("/invitations/accept")
async def accept_invitation(
    request: Request,
    *,
    state: WebState,
    form: WebForm,
    user: WebUser,
    actor: WebActor,
    db: DbSession,
) -> Response:
    try:
        data = InvitationAccept(token=form.get("token", ""))
    except ValidationError:
        return await _invitation_page(request, state, db, token="", user=user)
    try:
        joined = await service.accept_invitation(db, actor, user, token=data.token)
    except (InvitationInvalid, InvitationEmailMismatch, AlreadyMember) as exc:
        return await _invitation_page(
            request, state, db, token=data.token, user=user, error=_message(exc), status=exc.status
        )
    return redirect(request, f"/app/{joined.org_id}/dashboard", notice=f"Welcome to {joined.name}.")


async def _invitation_page(
    request: Request,
    state: rules.WebSession,
    db: AsyncSession,
    *,
    token: str,
    user: User | None,
    error: str | None = None,
    status: int | None = None,
) -> Response:
    """What the link offers, and the way forward: the button for a signed-in person, "log in"
    and "create an account" (both coming back here) for anyone else."""
    found = await invitations.preview(db, token=token) if token else None
    usable = found is not None and found.status == "pending"
    here = "/invitations/accept?" + urlencode({"token": token})
    return render(
        request,
        INVITATION,
        state,
        status_code=status or (200 if usable else 400),
        invitation=found,
        token=token,
        user=user,
        error=error,
        login_url="/login?" + urlencode({"next": here}),
        signup_url="/signup?" + urlencode({"next": here}),
    )


def _message(exc: AppError) -> str:
    """The error's own detail, or, when it only repeats its title, the explanation its class
    gives clients (the domain's wording, not a second copy of it here)."""
    if exc.detail != exc.title:
        return exc.detail
    return " ".join((inspect.getdoc(type(exc)) or exc.title).split())
