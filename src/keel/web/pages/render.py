"""Rendering pages and setting the session cookie: every page answer goes through here, so
every form gets its CSRF token and every new session state reaches the browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from keel.config import Settings
from keel.kit.deps import get_resources
from keel.plans import service as plans_service
from keel.web import rules

WEB = Path(__file__).resolve().parents[1]
TEMPLATES = WEB / "templates"
STATIC = WEB / "static"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)
environment.filters["price"] = lambda plan: rules.price_text(
    plan.price_monthly_cents, plan.currency
)
environment.filters["plan_lines"] = lambda features: rules.plan_lines(
    features, plans_service.limit_label
)


def render(
    request: Request,
    template: str,
    state: rules.WebSession,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    settings = get_resources(request).settings
    key = rules.signing_key(settings.secret_key.get_secret_value())
    notice = rules.decode_notice(request.cookies.get(rules.NOTICE_COOKIE), key)
    toasts = [*context.pop("toasts", []), *([notice] if notice else [])]
    html = environment.get_template(template).render(
        csrf_token=rules.csrf_token(state, key),
        signed_in=state.signed_in,
        toasts=toasts,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    if state.fresh:
        set_session(response, state, settings)
    if rules.NOTICE_COOKIE in request.cookies:
        response.delete_cookie(rules.NOTICE_COOKIE, path="/")
    return response


def redirect(
    request: Request,
    url: str,
    state: rules.WebSession | None = None,
    *,
    notice: str | None = None,
) -> RedirectResponse:
    """303 See Other: after a POST the browser GETs ``url`` (post/redirect/get); ``notice``
    is shown there once, as a toast ("Project created")."""
    settings = get_resources(request).settings
    response = RedirectResponse(url, status_code=303)
    if state is not None and state.fresh:
        set_session(response, state, settings)
    if notice:
        key = rules.signing_key(settings.secret_key.get_secret_value())
        response.set_cookie(
            rules.NOTICE_COOKIE,
            rules.encode_notice(notice, key),
            max_age=60,
            path="/",
            secure=not settings.is_development,
            httponly=True,
            samesite="lax",
        )
    return response


def set_session(response: Response, state: rules.WebSession, settings: Settings) -> None:
    """Secure, HttpOnly, SameSite=Lax, Path=/ (a ``__Host-`` cookie outside development).
    A signed-in cookie lives as long as its auth session may; an anonymous one until the
    browser closes."""
    key = rules.signing_key(settings.secret_key.get_secret_value())
    max_age = settings.auth.refresh_token_days * 86_400 if state.signed_in else None
    response.set_cookie(
        rules.cookie_name(development=settings.is_development),
        rules.encode(state, key),
        max_age=max_age,
        path="/",
        secure=not settings.is_development,
        httponly=True,
        samesite="lax",
    )
