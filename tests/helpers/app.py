"""An app over the test's resources, with extra routers mounted, and a client to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from asgi_lifespan import LifespanManager
from fastapi import APIRouter

from keel.config import Settings
from keel.kit.deps import Resources
from keel.main import create_app


@asynccontextmanager
async def client_for(
    settings: Settings,
    resources: Resources,
    *routers: APIRouter,
    raise_app_exceptions: bool = True,
    base_url: str = "http://testserver",
) -> AsyncIterator[httpx.AsyncClient]:
    """``routers`` are mounted under ``/api/v1`` like the domains' own."""
    app = create_app(settings, resources=resources, run_worker=False)
    for router in routers:
        app.include_router(router, prefix="/api/v1")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    async with LifespanManager(app), httpx.AsyncClient(transport=transport, base_url=base_url) as c:
        yield c
