"""Operational endpoints (``/health``, ``/ready``, ``/metrics``) and the problem pages
(``/problems/<code>``). All public: they reveal no tenant data."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from keel.kit.deps import AppResources
from keel.kit.errors import NotFound
from keel.observability import rules, service

router = APIRouter(tags=["operations"])
problems_router = APIRouter(tags=["problems"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers. Checks no dependency, so a database outage does not
    get healthy pods restarted."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(resources: AppResources) -> JSONResponse:
    report = await service.readiness(resources)
    return JSONResponse(report.model_dump(), status_code=200 if report.ok else 503)


@router.get("/metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@problems_router.get("/problems/{code}", response_class=HTMLResponse)
async def problem_page(code: str) -> HTMLResponse:
    page = rules.problem_page(code)
    if page is None:
        raise NotFound(f"There is no problem type {code!r}.")
    return HTMLResponse(page)
