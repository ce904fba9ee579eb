"""Prometheus series: every HTTP answer is counted and timed under its route *template*
(never the raw path, so label values stay few), and the job runner's series appear once a
worker has run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.kit import jobs
from keel.kit.deps import Resources
from keel.kit.jobs import JobContext
from keel.kit.middleware import UNMATCHED_ROUTE
from keel.kit.routing import api_router
from tests.helpers.app import client_for
from tests.helpers.jobs import runner

probe = api_router(prefix="/probe")


@probe.get("/{item_id}")
async def read_item(item_id: int) -> dict[str, int]:
    return {"id": item_id}


@probe.get("/files/{path:path}")
async def read_file(path: str) -> dict[str, str]:
    return {"path": path}


@pytest.fixture
async def metrics_client(
    settings: Settings, resources: Resources
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(settings, resources, probe) as c:
        yield c


def requests_total(method: str, route: str, status_code: int) -> float:
    labels = {"method": method, "route": route, "status_code": str(status_code)}
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0


def duration_count(method: str, route: str, status_code: int) -> float:
    labels = {"method": method, "route": route, "status_code": str(status_code)}
    return REGISTRY.get_sample_value("http_request_duration_seconds_count", labels) or 0.0


async def test_http_metrics__path_parameter__labelled_by_route_template(
    metrics_client: httpx.AsyncClient,
) -> None:
    # Given the counters before
    route = "/api/v1/probe/{item_id}"
    before = requests_total("GET", route, 200), duration_count("GET", route, 200)
    # When two different items are read
    for item in (41, 42):
        assert (await metrics_client.get(f"/api/v1/probe/{item}")).status_code == 200
    # Then both count under the one template, timed and counted alike
    assert requests_total("GET", route, 200) == before[0] + 2
    assert duration_count("GET", route, 200) == before[1] + 2
    # And the raw paths never become label values
    scraped = (await metrics_client.get("/metrics")).text
    assert 'route="/api/v1/probe/{item_id}"' in scraped
    assert "/api/v1/probe/41" not in scraped


async def test_http_metrics__no_route_matches__labelled_unmatched(
    metrics_client: httpx.AsyncClient,
) -> None:
    before = requests_total("GET", UNMATCHED_ROUTE, 404)
    assert (await metrics_client.get("/no/such/page/9f3a")).status_code == 404
    assert requests_total("GET", UNMATCHED_ROUTE, 404) == before + 1
    assert "/no/such/page/9f3a" not in (await metrics_client.get("/metrics")).text


async def test_http_metrics__status_code__is_a_label(metrics_client: httpx.AsyncClient) -> None:
    route = "/api/v1/probe/{item_id}"
    before = requests_total("GET", route, 422)
    assert (await metrics_client.get("/api/v1/probe/not-a-number")).status_code == 422
    assert requests_total("GET", route, 422) == before + 1


async def test_http_metrics__multi_segment_path_parameter__labelled_by_template(
    metrics_client: httpx.AsyncClient,
) -> None:
    route = "/api/v1/probe/files/{path:path}"
    before = requests_total("GET", route, 200)
    assert (await metrics_client.get("/api/v1/probe/files/a/b/c")).status_code == 200
    assert requests_total("GET", route, 200) == before + 1


async def test_job_metrics__worker_ran_a_job__series_appear_in_metrics(
    resources: Resources, metrics_client: httpx.AsyncClient
) -> None:
    # Given a queued job
    name = "observability.metrics_probe"
    async with resources.database.transaction() as session:
        await jobs.enqueue(session, name, {})
    labels = {"name": name, "outcome": "done"}
    before = REGISTRY.get_sample_value("keel_jobs_processed_total", labels) or 0.0
    # When a worker runs until it is done
    ran = asyncio.Event()

    async def quick_job(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        ran.set()

    worker = runner(resources, {name: quick_job})
    await worker.start()
    try:
        async with asyncio.timeout(10):
            await ran.wait()
    finally:
        await worker.stop()  # waits for the running job, so its outcome is recorded
    assert REGISTRY.get_sample_value("keel_jobs_processed_total", labels) == before + 1
    # Then /metrics shows the outcome, the duration, the queue depth and the outbox lag
    scraped = (await metrics_client.get("/metrics")).text
    assert f'keel_jobs_processed_total{{name="{name}",outcome="done"}}' in scraped
    assert f'keel_jobs_duration_seconds_count{{name="{name}"}}' in scraped
    assert "keel_jobs_queue_depth{status=" in scraped
    assert "\nkeel_jobs_outbox_lag_seconds " in scraped
