"""Error pages: one renderer of problems (GUIDE §3.4). Every error is raised and rendered as
problem JSON once (``keel.kit.problems``, the last-resort 500 of the request middleware);
for a person's request — a page path, a client that does not ask for JSON — this middleware
turns that answer into the same problem as an HTML page in the site's design. The API and
the operational endpoints (``rules.MACHINE_PREFIXES``) keep their JSON whatever they accept.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keel.kit.deps import get_resources
from keel.kit.problems import PROBLEM_MEDIA_TYPE
from keel.web import rules
from keel.web.pages.render import environment

HTML_TYPE = "text/html; charset=utf-8"
LOGIN_PATH = "/login"


class HtmlProblemPages:
    """Pure ASGI; only problem answers are buffered (they are small), everything else
    streams through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        accept = Headers(scope=scope).get("accept", "") if scope["type"] == "http" else ""
        if scope["type"] != "http" or not rules.wants_html(scope["path"], accept):
            await self.app(scope, receive, send)
            return
        held: dict[str, Any] = {"start": None, "body": b""}

        async def send_page_for_problem(message: Message) -> None:
            if message["type"] == "http.response.start" and _is_problem(message):
                held["start"] = message
                return
            if held["start"] is None or message["type"] != "http.response.body":
                await send(message)
                return
            held["body"] += message.get("body", b"")
            if not message.get("more_body", False):
                await _send_page(scope, send, held["start"], held["body"])

        await self.app(scope, receive, send_page_for_problem)


def _is_problem(message: Message) -> bool:
    content_type = Headers(raw=message["headers"]).get("content-type", "")
    return content_type.startswith(PROBLEM_MEDIA_TYPE)


async def _send_page(scope: Scope, send: Send, start: Message, body: bytes) -> None:
    headers = MutableHeaders(raw=list(start["headers"]))
    page = render_problem(
        _problem(body, start["status"]),
        headers.get("x-request-id"),
        path=scope["path"],
        referer=Headers(scope=scope).get("referer"),
    )
    headers["content-type"] = HTML_TYPE
    headers["content-length"] = str(len(page))
    await send({"type": "http.response.start", "status": start["status"], "headers": headers.raw})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else page})


def _problem(body: bytes, status: int) -> dict[str, Any]:
    try:
        problem = json.loads(body)
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        return {"status": status, "title": "Error", "detail": "", "code": "error"}
    return problem


def render_problem(
    problem: dict[str, Any],
    request_id: str | None,
    *,
    path: str = "/",
    referer: str | None = None,
) -> bytes:
    """The problem as a page; a plan gate's 402 opens the upgrade prompt, whose "Upgrade now"
    leads to the plan page of the organization in ``path``."""
    html = environment.get_template("pages/problem.html").render(
        problem=problem,
        status=int(problem.get("status") or 500),
        request_id=request_id,
        fields=rules.field_errors(problem.get("errors") or []),
        signed_in=False,
        upgrade=rules.upgrade_links(path, referer) if problem.get("status") == 402 else None,
    )
    return html.encode()


async def sign_in_redirect(request: Request, _exc: Exception) -> RedirectResponse:
    """A page that needs a user sends the browser to log in (303, any method), dropping a
    cookie that refers to a session which ended elsewhere: the login page would otherwise take
    it for a signed-in browser and send it back here."""
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    settings = get_resources(request).settings
    name = rules.cookie_name(development=settings.is_development)
    key = rules.signing_key(settings.secret_key.get_secret_value())
    state = rules.decode(request.cookies.get(name), key)
    if state is not None and state.signed_in:  # a login awaiting its MFA code is kept
        response.delete_cookie(
            name, path="/", secure=not settings.is_development, httponly=True, samesite="lax"
        )
    return response
