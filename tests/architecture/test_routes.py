"""Every JSON API route answers 415 for a non-JSON body: it must be a
:class:`~keel.kit.routing.JSONRoute`, which ``keel.kit.routing.api_router()`` gives."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from keel.config import Settings
from keel.kit.routing import JSONRoute, api_router
from keel.main import create_app

API_PREFIX = "/api/"


def api_routes(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """(full path, route) for every APIRoute, however deep it was included. FastAPI >= 0.165
    keeps included routers as wrappers (``original_router`` + ``include_context.prefix``);
    older versions copied the routes into the app with their full path."""
    for route in routes:
        included: Any = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from api_routes(included.routes, prefix + getattr(context, "prefix", ""))
        elif isinstance(route, APIRoute):
            yield prefix + route.path, route


def plain_api_routes(app: FastAPI) -> list[str]:
    return sorted(
        f"{','.join(sorted(route.methods or ()))} {path}"
        for path, route in api_routes(app.router.routes)
        if path.startswith(API_PREFIX) and not isinstance(route, JSONRoute)
    )


def test_api_routes__all_json_routes(settings: Settings) -> None:
    # Given the application as it is served
    app = create_app(settings, run_worker=False)
    # Then every route under /api/ is a JSONRoute
    offenders = plain_api_routes(app)
    assert not offenders, (
        f"{offenders} are plain APIRoutes: build the router with "
        "keel.kit.routing.api_router() so non-JSON bodies get 415."
    )


def test_api_routes__walk_finds_every_documented_path(settings: Settings) -> None:
    # Given the application and its OpenAPI document
    app = create_app(settings, run_worker=False)
    documented = set(app.openapi()["paths"])
    # When the route tree is walked
    walked = {path for path, route in api_routes(app.router.routes) if route.include_in_schema}
    # Then the walk misses nothing the document lists (so the check above sees every route)
    assert documented <= walked


def test_plain_api_routes__plain_router_under_api__reported() -> None:
    # Given an app with a JSON router and a plain one, nested under /api/v1
    json_router, plain_router, outer = api_router(prefix="/good"), APIRouter(), APIRouter()

    @json_router.post("/items")
    async def create_item(item: dict[str, int]) -> dict[str, int]:
        return item

    @plain_router.post("/bad")
    async def create_bad(item: dict[str, int]) -> dict[str, int]:
        return item

    outer.include_router(json_router)
    outer.include_router(plain_router, prefix="/nested")
    app = FastAPI()
    app.include_router(outer, prefix="/api/v1")
    # When checked, Then only the plain route is reported, with its full path
    assert plain_api_routes(app) == ["POST /api/v1/nested/bad"]
