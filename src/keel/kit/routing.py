"""The route class every JSON API router uses.

FastAPI parses any body it is given as JSON; Keel answers 415 instead when a JSON endpoint
receives a body of another content type, so a form post or a file upload sent by mistake is
named for what it is rather than failing field validation.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from keel.kit.errors import UnsupportedMediaType

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
        if self.body_field is None:
            return handler

        async def checked(request: Request) -> Response:
            if (
                request.method in _BODY_METHODS
                and has_body(request)
                and not is_json_media_type(request.headers.get("content-type"))
            ):
                raise UnsupportedMediaType(
                    "This endpoint reads JSON: send the body with Content-Type: application/json."
                )
            return await handler(request)

        return checked


def api_router(**kwargs: Any) -> APIRouter:
    """An ``APIRouter`` whose routes answer 415 for non-JSON bodies."""
    return APIRouter(route_class=JSONRoute, **kwargs)
