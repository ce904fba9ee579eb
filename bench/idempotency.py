"""What ``Idempotency-Key`` costs a create: ``POST /api/v1/orgs/{id}/projects`` in-process
(ASGI, no network), without a key, with a fresh key each time, and the replay of one key.

    uv run python -m bench.idempotency [--requests 300]

One client, sequential requests, on a fresh SQLite file (or on PostgreSQL when
KEEL_DATABASE__URL names one: bench/support.py). Prints the median and p95 per mode.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import timedelta

import httpx
from asgi_lifespan import LifespanManager

from bench.support import bench_settings
from keel.access.schemas import Actor
from keel.auth.models import AuthSession
from keel.auth.service import tokens
from keel.config import Settings
from keel.kit import clock, tenancy
from keel.kit.db import standalone_transaction
from keel.main import create_app
from keel.organizations.schemas import OrganizationCreate
from keel.organizations.service import orgs
from keel.users.models import User


async def admin_of_new_org(settings: Settings) -> tuple[str, dict[str, str]]:
    """An enterprise organization (no project limit, no rate limit) and its admin's token."""
    async with standalone_transaction(settings) as db:
        user = User(email=f"b-{uuid.uuid4().hex[:8]}@example.com", name="Bench", password_hash="x")
        user.email_verified_at = clock.now()
        db.add(user)
        await db.flush()
        org = await orgs.create(
            db, Actor(kind="user", id=str(user.id)), user, OrganizationCreate(name="Bench")
        )
        await tenancy.enter_tenant(db, org.id)
        org.plan = "enterprise"
        session = AuthSession(user_id=user.id, expires_at=clock.now() + timedelta(days=1))
        db.add(session)
        await db.flush()
        token = tokens.issue_access_token(settings, user_id=user.id, session_id=session.id)
    return str(org.id), {"Authorization": f"Bearer {token}"}


async def timed(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    answer = await client.post(url, json={"name": "Bench project"}, headers=headers)
    elapsed = time.perf_counter() - started
    if answer.status_code != 201:
        raise RuntimeError(f"{answer.status_code}: {answer.text}")
    return elapsed


async def run(settings: Settings, requests: int) -> dict[str, list[float]]:
    org_id, auth = await admin_of_new_org(settings)
    url = f"/api/v1/orgs/{org_id}/projects"
    app = create_app(settings, run_worker=False)
    results: dict[str, list[float]] = {"no key": [], "fresh key": [], "replay": []}
    transport = httpx.ASGITransport(app=app)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):
        replayed = {**auth, "Idempotency-Key": "replayed"}
        await timed(client, url, replayed)
        for _ in range(requests):
            results["no key"].append(await timed(client, url, auth))
            fresh = {**auth, "Idempotency-Key": str(uuid.uuid4())}
            results["fresh key"].append(await timed(client, url, fresh))
            results["replay"].append(await timed(client, url, replayed))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with bench_settings() as settings:
        results = asyncio.run(run(settings, args.requests))
    print(f"POST /api/v1/orgs/{{id}}/projects, {args.requests} requests per mode, in-process")
    for mode, values in results.items():
        values.sort()
        p50 = statistics.median(values) * 1000
        p95 = values[int(len(values) * 0.95) - 1] * 1000
        print(f"  {mode:<10} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms")


if __name__ == "__main__":
    main()
