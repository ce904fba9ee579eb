"""The public pages: landing with pricing, sign-up, login with its MFA step, logout.
Each is parse -> service -> page or redirect; a refused form is shown again with the
problem's messages next to its fields and the problem's status."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from keel.access.dependencies import RequestActor
from keel.auth.dependencies import AuthIpLimit
from keel.auth.errors import InvalidCredentials, MfaVerificationFailed
from keel.auth.service import login as login_service
from keel.kit.deps import AppResources, DbSession, get_resources
from keel.kit.errors import Conflict, ValidationFailed
from keel.plans import service as plans_service
from keel.web import rules, service
from keel.web.dependencies import WebForm, WebState
from keel.web.pages.render import redirect, render

router = APIRouter()
APP_HOME = "/app"
#: ``?next=``: where to go after login or sign-up; kept only if ``rules.safe_next_path``
#: says it is a path of this site (an invitation link sends people round the login).
NextPath = Annotated[str | None, Query(alias="next")]


@router.get("/")
async def landing(request: Request, state: WebState, db: DbSession) -> Response:
    plans = await plans_service.public_plans(db)
    return render(request, "pages/landing.html", state, plans=plans)


@router.get("/signup")
async def signup_page(request: Request, state: WebState, next_path: NextPath = None) -> Response:
    target = rules.safe_next_path(next_path)
    if state.signed_in:
        return redirect(request, target or APP_HOME)
    return render(request, "pages/signup.html", state, values={}, errors={}, next_path=target)


@router.post("/signup", dependencies=[AuthIpLimit])
async def signup(
    request: Request,
    *,
    state: WebState,
    form: WebForm,
    actor: RequestActor,
    db: DbSession,
    resources: AppResources,
) -> Response:
    values = {field: form.get(field, "") for field in ("email", "name")}
    target = rules.safe_next_path(form.get("next"))
    try:
        done = await service.sign_up(
            db,
            actor,
            email=values["email"],
            name=values["name"],
            password=form.get("password", ""),
            cache=resources.cache,
            settings=resources.settings,
        )
    except (ValidationFailed, Conflict) as exc:
        errors = rules.field_errors(
            exc.extra.get("errors") or [{"field": "email", "message": exc.detail}]
        )
        return render(
            request,
            "pages/signup.html",
            state,
            status_code=exc.status,
            values=values,
            errors=errors,
            next_path=target,
        )
    home = target or (f"/app/{done.org_id}/dashboard" if done.org_id else APP_HOME)
    return redirect(request, home, rules.signed_in(done.session_id, done.user.id))


@router.get("/login")
async def login_page(request: Request, state: WebState, next_path: NextPath = None) -> Response:
    target = rules.safe_next_path(next_path)
    if state.signed_in:
        return redirect(request, target or APP_HOME)
    return render(request, "pages/login.html", state, values={}, error=None, next_path=target)


@router.post("/login", dependencies=[AuthIpLimit])
async def login(
    request: Request,
    *,
    state: WebState,
    form: WebForm,
    actor: RequestActor,
    db: DbSession,
    resources: AppResources,
) -> Response:
    email = form.get("email", "")
    target = rules.safe_next_path(form.get("next"))
    try:
        result, _ = await login_service.login(
            db,
            actor,
            email=email,
            password=form.get("password", ""),
            cache=resources.cache,
            limiter=resources.limiter,
            settings=resources.settings,
        )
    except InvalidCredentials as exc:
        return render(
            request,
            "pages/login.html",
            state,
            status_code=exc.status,
            values={"email": email},
            error=exc.detail,
            next_path=target,
        )
    if isinstance(result, login_service.MfaChallenge):
        return redirect(request, _mfa_url(target), rules.awaiting_mfa(result.mfa_token))
    return redirect(request, target or APP_HOME, _signed_in(request, result))


@router.get("/login/mfa")
async def mfa_page(
    request: Request, state: WebState, next_path: NextPath = None, recovery: bool = False
) -> Response:
    """The authenticator code, or with ``?recovery=1`` a recovery code (one field either way:
    the service tells them apart); the switch is a link, so it works without JavaScript."""
    if state.mfa_token is None:
        return redirect(request, "/login")
    target = rules.safe_next_path(next_path)
    return render(request, "pages/mfa.html", state, error=None, **_mfa_view(target, recovery))


@router.post("/login/mfa", dependencies=[AuthIpLimit])
async def mfa(
    request: Request,
    *,
    state: WebState,
    form: WebForm,
    actor: RequestActor,
    db: DbSession,
    resources: AppResources,
) -> Response:
    if state.mfa_token is None:
        return redirect(request, "/login")
    target = rules.safe_next_path(form.get("next"))
    try:
        pair = await login_service.verify_mfa(
            db,
            actor,
            mfa_token=state.mfa_token,
            code=form.get("code", "").strip(),
            cache=resources.cache,
            limiter=resources.limiter,
            settings=resources.settings,
        )
    except MfaVerificationFailed as exc:
        view = _mfa_view(target, form.get("recovery") == "1")
        return render(
            request, "pages/mfa.html", state, status_code=exc.status, error=exc.detail, **view
        )
    return redirect(request, target or APP_HOME, _signed_in(request, pair))


@router.post("/logout")
async def logout(
    request: Request, state: WebState, actor: RequestActor, db: DbSession, resources: AppResources
) -> Response:
    """Ends the auth session (its API tokens too) when there is one; always forgets the
    cookie's state, so a stale cookie cannot strand the browser."""
    signed_in = await service.actor_for(db, state, actor, cache=resources.cache)
    if signed_in is not None:
        await login_service.logout(db, signed_in, cache=resources.cache)
    return redirect(request, "/", rules.anonymous())


def _mfa_url(target: str | None, *, recovery: bool = False) -> str:
    query = {"recovery": "1"} if recovery else {}
    query |= {"next": target} if target else {}
    return "/login/mfa" + (f"?{urlencode(query)}" if query else "")


def _mfa_view(target: str | None, recovery: bool) -> dict[str, Any]:
    """The MFA page's mode, and the link to the other one (keeping ``next``)."""
    return {
        "next_path": target,
        "recovery": recovery,
        "switch_url": _mfa_url(target, recovery=not recovery),
    }


def _signed_in(request: Request, pair: login_service.TokenPair) -> rules.WebSession:
    settings = get_resources(request).settings
    return rules.signed_in(pair.session_id, service.user_of_pair(settings, pair))
