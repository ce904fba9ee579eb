"""The route class every JSON API router uses.

FastAPI parses any body it is given as JSON; Keel answers 415 instead when a JSON endpoint
receives a body of another content type, so a form post or a file upload sent by mistake is
named for what it is rather than failing field validation.

Routes that declare an ``Idempotency-Key`` guard are wrapped so that repeats are answered
from storage and first answers stored (:mod:`keel.kit.idempotency`).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from keel.kit.errors import UnsupportedMediaType, ValidationFailed
from keel.kit.idempotency import dependencies as idempotency
from keel.kit.schemas import nul_at

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def is_json_media_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() != "0"
    return "transfer-encoding" in request.headers


class JSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if idempotency.declared(self.dependant):
            handler = idempotency.finishing(handler)
        if self.body_field is None:
            return handler

        async def checked(request: Request) -> Response:
            if request.method in _BODY_METHODS and has_body(request):
                if not is_json_media_type(request.headers.get("content-type")):
                    raise UnsupportedMediaType(
                        "This endpoint reads JSON: send the body with Content-Type: "
                        "application/json."
                    )
                await _refuse_nul(request)
            return await handler(request)

        return checked


async def _refuse_nul(request: Request) -> None:
    """U+0000 in any string of the body is a 422: PostgreSQL cannot store it in text, and no
    field of Keel's needs it. Malformed JSON is left to FastAPI's own answer."""
    try:
        body = await request.json()
    except ValueError:
        return
    where = nul_at(body, "body")
    if where is not None:
        raise ValidationFailed(
            "Text may not contain the NUL character (U+0000); remove it.",
            errors=[{"field": where, "message": "must not contain U+0000"}],
        )


def api_router(**kwargs: Any) -> APIRouter:
    """An ``APIRouter`` whose routes answer 415 for non-JSON bodies."""
    return APIRouter(route_class=JSONRoute, **kwargs)
