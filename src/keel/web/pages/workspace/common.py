"""What the workspace pages share: their guards (the API's permissions, as ``web_requires``),
form parsing, URLs, and the answer after a change."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from keel.kit.errors import ValidationFailed
from keel.kit.problems import validation_errors
from keel.web.dependencies import web_requires
from keel.web.pages.common import is_htmx
from keel.web.pages.render import redirect

CanReadProjectsPage = web_requires("projects:read")
CanWriteProjectsPage = web_requires("projects:write")
CanDeleteProjectsPage = web_requires("projects:delete")
CanReadDocumentsPage = web_requires("documents:read")
CanDeleteDocumentsPage = web_requires("documents:delete")

Cursor = Annotated[str | None, Query(max_length=512)]
#: Longer than the API's 200 on purpose: the page trims a pasted text rather than refuse it.
Search = Annotated[str | None, Query(max_length=1000)]
M = TypeVar("M", bound=BaseModel)


def project_url(org_id: uuid.UUID, project_id: uuid.UUID, *parts: object) -> str:
    return "/".join([f"/app/{org_id}/projects/{project_id}", *(str(part) for part in parts)])


def search_url(base: str, q: str | None) -> str:
    """``base`` with the search kept, for the pager (which appends the cursor)."""
    return base + (f"?{urlencode({'q': q})}" if q else "")


def form_values(form: dict[str, str], *names: str) -> dict[str, str]:
    return {name: form.get(name, "") for name in names}


def document_values(form: dict[str, str]) -> dict[str, str]:
    """Browsers send a textarea's line breaks as CRLF; the body is stored with LF, as API
    clients send it."""
    values = form_values(form, "title", "body", "classification")
    values["body"] = values["body"].replace("\r\n", "\n")
    return values


def parse(schema: type[M], **values: Any) -> M:
    """``schema`` from values nobody typed (a path, a button's value): invalid is the 422
    page, as the API would answer."""
    try:
        return schema(**values)
    except ValidationError as exc:
        raise ValidationFailed(
            "Some fields are missing or invalid; see errors.",
            errors=validation_errors(exc.errors()),
        ) from None


def finish(request: Request, url: str, *, notice: str) -> Response:
    """Post/redirect/get. An htmx request is sent on with ``HX-Redirect`` instead: its XHR
    would follow a 303 itself and swap the next page into the form."""
    response = redirect(request, url, notice=notice)
    if is_htmx(request):
        response.status_code = 204
        del response.headers["location"]
        response.headers["HX-Redirect"] = url
    return response
