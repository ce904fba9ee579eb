"""Webhook delivery: deliveries/s of one worker and event -> delivery latency, to a local
receiver (uvicorn in its own process on 127.0.0.1, answering 200 at once).

    uv run python -m bench.webhooks [--deliveries 5000] [--concurrency 8] [--rate 200]
    KEEL_DATABASE__URL=postgresql+asyncpg://postgres@127.0.0.1:5432/<db> uv run python ...

Three figures, one worker (an in-process runner with ``keel worker``'s handlers):

- ``delivery``: N deliveries already fanned out (messages and deliveries written, their
  ``webhooks.deliver`` runs queued) until the receiver has all N — the delivery stage alone;
- ``end_to_end``: N events published (outbox rows) until the receiver has all N — dispatch,
  the ``"*"`` fan-out and delivery;
- ``latency``: events published at ``--rate`` per second in small committed transactions while
  the worker runs; from each event's ``occurred_at`` to its arrival at the receiver.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import time
import uuid
from datetime import datetime
from typing import Any

import httpx
import uvicorn
from tests.webhooks.receiver import HOST, free_port, read_body

from bench.support import bench_settings
from keel.access.schemas import Actor
from keel.config import Settings
from keel.events import service as events_service
from keel.events.schemas import EventEnvelope
from keel.kit import clock
from keel.kit.deps import Resources, close_resources, open_resources
from keel.kit.jobs.runner import Runner
from keel.kit.logging import configure_logging
from keel.organizations.schemas import OrganizationCreate
from keel.organizations.service import access as org_access
from keel.organizations.service import orgs
from keel.projects.events import ProjectUpdated
from keel.users.models import User
from keel.webhooks import service
from keel.webhooks.schemas import WebhookCreate
from keel.worker import job_handlers

# ---- the receiver (its own process) ------------------------------------------------------------


class Receiver:
    """Counts distinct webhook-ids and keeps each one's latency from the event's time."""

    def __init__(self) -> None:
        self.latency: dict[str, float] = {}
        self.requests = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        if body is None:
            return  # the sender died mid-request (bench/webhooks_crash.py)
        if scope["method"] == "GET":
            full = scope["query_string"] == b"latencies=1"
            await self._answer(send, json.dumps(self._stats(latencies=full)).encode())
            return
        if scope["path"] == "/reset":
            self.latency.clear()
            self.requests = 0
            await self._answer(send, b"{}")
            return
        self.requests += 1
        headers = dict(scope["headers"])
        occurred = datetime.fromisoformat(json.loads(body)["timestamp"].replace("Z", "+00:00"))
        webhook_id = headers.get(b"webhook-id", b"").decode()
        self.latency.setdefault(webhook_id, time.time() - occurred.timestamp())
        await self._answer(send, b"ok")

    def _stats(self, *, latencies: bool) -> dict[str, Any]:
        return {
            "distinct": len(self.latency),
            "requests": self.requests,
            "latencies": list(self.latency.values()) if latencies else [],
        }

    @staticmethod
    async def _answer(send: Any, body: bytes) -> None:
        headers = [(b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def serve_receiver(port: int) -> None:
    uvicorn.run(Receiver(), host=HOST, port=port, log_level="error", access_log=False)


def start_receiver() -> tuple[multiprocessing.Process, str]:
    port = free_port()
    process = multiprocessing.Process(target=serve_receiver, args=(port,), daemon=True)
    process.start()
    url = f"http://{HOST}:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{url}/stats", timeout=0.2)
            return process, url
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("the receiver did not start")


#: One client for the bench's own calls to the receiver (a client per call would build an
#: SSL context each time: 18 ms of the worker's CPU per poll).
_CONTROL: httpx.AsyncClient | None = None


def control() -> httpx.AsyncClient:
    global _CONTROL
    if _CONTROL is None:
        _CONTROL = httpx.AsyncClient()
    return _CONTROL


async def stats(url: str, *, latencies: bool = False) -> dict[str, Any]:
    answer: dict[str, Any] = (
        await control().get(f"{url}/stats", params={"latencies": int(latencies)})
    ).json()
    return answer


async def reset(url: str) -> None:
    await control().post(f"{url}/reset", content=b"{}")


async def wait_for(url: str, count: int, *, within: float) -> float:
    started = time.perf_counter()
    while (await stats(url))["distinct"] < count:
        if time.perf_counter() - started > within:
            raise TimeoutError(f"fewer than {count} deliveries after {within} s")
        await asyncio.sleep(0.1)
    return time.perf_counter() - started


# ---- set-up --------------------------------------------------------------------------------------


async def organization_with_endpoint(resources: Resources, url: str) -> uuid.UUID:
    async with resources.database.transaction() as db:
        owner = User(email=f"bench-{uuid.uuid4().hex[:8]}@example.com", name="B", password_hash="x")
        db.add(owner)
        await db.flush()
        actor = Actor(kind="user", id=str(owner.id))
        org = await orgs.create(db, actor, owner, OrganizationCreate(name="Bench"))
        access = await org_access.open_org(db, actor, org.id)
        data = WebhookCreate(url=f"{url}/hook", event_types=["project.updated"])
        await service.create_webhook(db, access, data, settings=resources.settings)
        return org.id


def event(org_id: uuid.UUID, n: int) -> ProjectUpdated:
    return ProjectUpdated(organization_id=org_id, project_id=uuid.uuid4(), fields=[f"f{n}"])


async def fanned_out(resources: Resources, org_id: uuid.UUID, count: int) -> None:
    """Deliveries written and their runs queued, as the fan-out does, without the outbox."""
    async with resources.database.transaction() as db:
        for n in range(count):
            typed = event(org_id, n)
            envelope = EventEnvelope(
                id=uuid.uuid4(),
                name=typed.name,
                version=typed.version,
                organization_id=org_id,
                occurred_at=clock.now(),
                payload=typed.payload(),
            )
            await service.fan_out(db, envelope)


async def published(resources: Resources, org_id: uuid.UUID, count: int, *, offset: int) -> None:
    async with resources.database.transaction() as db:
        for n in range(count):
            await events_service.publish(db, event(org_id, offset + n))


async def drain_backlog(resources: Resources) -> None:
    """Run the organization's own set-up events (sample data...) before measuring."""
    runner = Runner(resources, job_handlers())
    while await runner.run_once():
        pass


# ---- the measurements ----------------------------------------------------------------------------


async def timed(resources: Resources, url: str, count: int) -> float:
    runner = Runner(resources, job_handlers())
    await runner.start()
    try:
        return await wait_for(url, count, within=600)
    finally:
        await runner.stop()


async def latency(
    resources: Resources, url: str, org_id: uuid.UUID, rate: int, seconds: int
) -> list[float]:
    await reset(url)
    runner = Runner(resources, job_handlers())
    await runner.start()
    try:
        batch = max(1, rate // 20)  # 20 small transactions per second
        for tick in range(seconds * 20):
            started = time.perf_counter()
            await published(resources, org_id, batch, offset=10_000_000 + tick * batch)
            await asyncio.sleep(max(0.0, 0.05 - (time.perf_counter() - started)))
        await wait_for(url, seconds * 20 * batch, within=120)
    finally:
        await runner.stop()
    latencies: list[float] = (await stats(url, latencies=True))["latencies"]
    return latencies


async def run(settings: Settings, count: int, rate: int, seconds: int) -> dict[str, Any]:
    process, url = start_receiver()
    resources = open_resources(settings)
    try:
        org_id = await organization_with_endpoint(resources, url)
        await drain_backlog(resources)
        await reset(url)
        await fanned_out(resources, org_id, count)
        delivery = await timed(resources, url, count)
        await reset(url)
        await published(resources, org_id, count, offset=count)
        end_to_end = await timed(resources, url, count)
        lat = await latency(resources, url, org_id, rate, seconds)
    finally:
        await close_resources(resources)
        process.terminate()
    return {"delivery": delivery, "end_to_end": end_to_end, "latencies": lat}


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=8, help="jobs one worker runs at once")
    parser.add_argument("--rate", type=int, default=200, help="events/s in the latency run")
    parser.add_argument("--seconds", type=int, default=10, help="length of the latency run")
    args = parser.parse_args()
    with bench_settings(concurrency=args.concurrency) as base:
        settings = replace_webhooks(base)
        configure_logging(settings)  # WARNING: per-job INFO lines would be measured too
        figures = asyncio.run(run(settings, args.deliveries, args.rate, args.seconds))
        backend = settings.database_url.split(":", 1)[0]
    lat = figures["latencies"]
    print(
        f"backend={backend} deliveries={args.deliveries} concurrency={args.concurrency} "
        f"delivery_per_second={args.deliveries / figures['delivery']:.0f} "
        f"end_to_end_per_second={args.deliveries / figures['end_to_end']:.0f} "
        f"latency_rate={args.rate}/s latency_p50_ms={percentile(lat, 50) * 1000:.0f} "
        f"latency_p99_ms={percentile(lat, 99) * 1000:.0f}"
    )


def replace_webhooks(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"webhooks": settings.webhooks.model_copy(update={"allow_loopback": True})}
    )


if __name__ == "__main__":
    main()
