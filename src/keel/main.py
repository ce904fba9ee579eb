"""The application factory: settings in, a fully wired FastAPI app out."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from keel import api
from keel.auth.endpoints import tokens as auth_token_endpoints
from keel.config import Settings, get_settings
from keel.flags import openfeature
from keel.flags import service as flags_service
from keel.kit.deps import Resources, close_resources, open_resources
from keel.kit.logging import configure_logging
from keel.kit.middleware import (
    BodyLimitMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
)
from keel.kit.problems import install_exception_handlers
from keel.observability import endpoints as observability_endpoints
from keel.observability import service as observability_service
from keel.plans import service as plans_service
from keel.web import pages as web_pages
from keel.worker import build_worker


def create_app(
    settings: Settings | None = None,
    *,
    resources: Resources | None = None,
    run_worker: bool | None = None,
) -> FastAPI:
    """Build the app. Tests pass their own ``resources`` (a database bound to the test's
    transaction); ``run_worker`` overrides whether the embedded job worker starts."""
    settings = settings or get_settings()
    configure_logging(settings)
    start_worker = settings.embedded_worker if run_worker is None else run_worker
    app = FastAPI(
        title="Keel",
        version=version("keel"),
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=_lifespan(settings, resources, start_worker),
    )
    install_exception_handlers(app)
    for router in api.ROUTERS:
        app.include_router(router, prefix=api.PREFIX)
    app.include_router(observability_endpoints.router)
    app.include_router(observability_endpoints.problems_router)
    app.include_router(auth_token_endpoints.jwks_router)
    web_pages.install(app)
    _add_middleware(app, settings)
    return app


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    # Added inner to outer: the last one added sees the request first.
    if settings.http.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.http.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=[
                "X-Request-ID",
                "Retry-After",
                "RateLimit",
                "RateLimit-Policy",
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
            ],
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.http.max_body_bytes)
    # An unhandled error is published as error.detected after its 500 is sent.
    hook = observability_service.request_error_hook(lambda: getattr(app.state, "resources", None))
    app.add_middleware(RequestContextMiddleware, on_error=hook)
    # Outside the request context, so its last-resort 500 too becomes a page for a browser.
    app.add_middleware(web_pages.HtmlProblemPages)
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.http.trusted_proxies)


def _lifespan(
    settings: Settings, given: Resources | None, start_worker: bool
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = given or open_resources(settings)
        app.state.resources = resources
        observability_service.configure_error_reporting(settings)
        worker = None
        if start_worker:
            worker = build_worker(resources)
            await worker.start()
        # Other processes' near-cache invalidations (a no-op task without Redis).
        listener = asyncio.create_task(resources.database.near.listen())
        # The standard OpenFeature API answers from Keel's flags in this process.
        openfeature.install(resources.database, environment=flags_service.environment_for(settings))
        # API calls counted in memory, added to the usage counters in batches.
        flusher = asyncio.create_task(plans_service.run_flusher(resources.database))
        try:
            yield
        finally:
            for task in (flusher, listener):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            openfeature.uninstall()
            await resources.database.near.close()
            if worker is not None:
                await worker.stop()
            if given is None:
                await close_resources(resources)
            observability_service.shutdown_error_reporting()

    return lifespan
