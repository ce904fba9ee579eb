"""What the God dashboard's page modules share: rendering in its frame, path and query
parameters, and a nested value's errors in one line."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response

from keel.users.models import User
from keel.web import rules
from keel.web.pages.render import render

Search = Annotated[str, Query(max_length=200, description="A part of a name, slug or email.")]
Cursor = Annotated[str | None, Query(max_length=512)]


def page(
    request: Request,
    state: rules.WebSession,
    template: str,
    *,
    user: User,
    nav: str,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """``templates/pages/admin/<template>`` in the dashboard's frame (``admin_base.html``);
    ``nav`` marks the section in its navigation."""
    return render(
        request,
        f"pages/admin/{template}",
        state,
        status_code=status_code,
        user=user,
        nav=nav,
        **context,
    )


def paths_and_messages(errors: Iterable[Mapping[str, Any]]) -> str:
    """Every error of a nested value in one line, each with its path without ``body.``
    (``targeting.rules.0.operator: unknown operator``): a JSON editor has one field."""
    return "; ".join(
        f"{str(e.get('field', '')).removeprefix('body.')}: {e.get('message', '')}" for e in errors
    )
