"""The public pages: landing with pricing, sign-up, login with its MFA step, logout.
Each is parse -> service -> page or redirect; a refused form is shown again with the
problem's messages next to its fields and the problem's status."""

from __future__ import annotations

from fastapi import APIRouter, Request
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


@router.get("/")
async def landing(request: Request, state: WebState, db: DbSession) -> Response:
    plans = await plans_service.public_plans(db)
    return render(request, "pages/landing.html", state, plans=plans)


@router.get("/signup")
async def signup_page(request: Request, state: WebState) -> Response:
    if state.signed_in:
        return redirect(request, APP_HOME)
    return render(request, "pages/signup.html", state, values={}, errors={})


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
        )
    home = f"/app/{done.org_id}/dashboard" if done.org_id else APP_HOME
    return redirect(request, home, rules.signed_in(done.session_id, done.user.id))


@router.get("/login")
async def login_page(request: Request, state: WebState) -> Response:
    if state.signed_in:
        return redirect(request, APP_HOME)
    return render(request, "pages/login.html", state, values={}, error=None)


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
        )
    if isinstance(result, login_service.MfaChallenge):
        return redirect(request, "/login/mfa", rules.awaiting_mfa(result.mfa_token))
    return redirect(request, APP_HOME, _signed_in(request, result))


@router.get("/login/mfa")
async def mfa_page(request: Request, state: WebState) -> Response:
    if state.mfa_token is None:
        return redirect(request, "/login")
    return render(request, "pages/mfa.html", state, error=None)


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
        return render(request, "pages/mfa.html", state, status_code=exc.status, error=exc.detail)
    return redirect(request, APP_HOME, _signed_in(request, pair))


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


def _signed_in(request: Request, pair: login_service.TokenPair) -> rules.WebSession:
    settings = get_resources(request).settings
    return rules.signed_in(pair.session_id, service.user_of_pair(settings, pair))
