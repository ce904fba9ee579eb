"""The operational endpoints as a load balancer and Prometheus see them. All are public."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families


async def test_health__always__200_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready__dependencies_up__200_with_each_check(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    database = body["checks"][0]
    assert database["name"] == "database" and database["status"] == "ok"
    assert isinstance(database["latency_ms"], float) and database["error"] is None


async def test_metrics__any_time__prometheus_text_with_http_and_job_series(
    client: httpx.AsyncClient,
) -> None:
    # Given one request already answered
    await client.get("/health")
    # When Prometheus scrapes
    response = await client.get("/metrics")
    # Then it gets the text format it parses, with the HTTP and job families declared
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    families = {family.name for family in text_string_to_metric_families(response.text)}
    assert {
        "http_request_duration_seconds",
        "http_requests",
        "keel_jobs_processed",
        "keel_jobs_duration_seconds",
        "keel_jobs_queue_depth",
        "keel_jobs_outbox_lag_seconds",
    } <= families


async def test_problem_page__known_code__html(client: httpx.AsyncClient) -> None:
    response = await client.get("/problems/not_found")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


async def test_problem_page__unknown_code__404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/problems/no_such_problem")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
