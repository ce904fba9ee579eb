"""What the pages of every area share: a refused form's messages per field, the htmx test,
and the confirmation page a delete (remove, revoke) shows without JavaScript."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from keel.kit.problems import validation_errors
from keel.web import rules
from keel.web.pages.render import render
from keel.web.service.shell import Shell


def schema_errors(exc: ValidationError) -> dict[str, str]:
    """A schema's refusal as messages per form field."""
    return rules.field_errors(validation_errors(exc.errors()))


def problem_errors(errors: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """A service's 422 (``errors`` of the problem) as messages per form field."""
    return rules.field_errors(errors)


def is_htmx(request: Request) -> bool:
    """Whether htmx sent the request (it then swaps the answer in, or follows HX-Redirect)."""
    return request.headers.get("hx-request") == "true"


def confirm_page(
    request: Request,
    state: rules.WebSession,
    *,
    area: str,
    shell: Shell,
    nav: str,
    title: str,
    text: str,
    action: str,
    back: str,
    confirm_text: str = "Delete",
    password: bool = False,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    """The confirmation of an irreversible action as a page (``pages/<area>/confirm.html``):
    what the modal shows, for a browser without JavaScript (the modal's opener links here)."""
    return render(
        request,
        f"pages/{area}/confirm.html",
        state,
        status_code=status_code,
        shell=shell,
        nav=nav,
        title=title,
        text=text,
        action=action,
        back=back,
        confirm_text=confirm_text,
        password=password,
        error=error,
    )
