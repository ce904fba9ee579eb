"""Flags on the read path, warm: what ``flags_service.is_enabled`` and
``GET /api/v1/orgs/{id}/flags`` cost once the compiled flags are in the near cache, and how
many statements then reach the flags tables (none).

    uv run python -m bench.flags_read [--calls 100000] [--requests 2000]

A throwaway migrated database (SQLite, or a database on KEEL_DATABASE__URL's PostgreSQL
server), no Redis. The service is timed in a loop; the endpoint through the app in-process
(httpx's ASGI transport, one request at a time), next to ``GET /api/v1/orgs/{id}`` (the
organization read) as the baseline of an authenticated tenant route.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import event

from bench.support import bench_settings
from keel.access.schemas import Actor
from keel.auth.models import AuthSession
from keel.auth.service import tokens
from keel.config import Settings
from keel.flags import service as flags_service
from keel.kit import clock
from keel.kit.db import Database
from keel.main import create_app
from keel.organizations.schemas import OrganizationCreate
from keel.organizations.service import access, orgs
from keel.users.models import User

KEY = "ai_assistant"


async def seed(database: Database, settings: Settings) -> tuple[uuid.UUID, uuid.UUID, str]:
    """The example flags, and an enterprise organization's owner with an access token."""
    async with database.transaction() as session:
        await flags_service.seed_examples(session, Actor.system("bench"))
        user = User(email="bench@example.com", name="Bench", email_verified_at=clock.now())
        session.add(user)
        await session.flush()
        actor = Actor(kind="user", id=str(user.id))
        org = await orgs.create(session, actor, user, OrganizationCreate(name="Bench"))
        org.plan = "enterprise"
        login = AuthSession(user_id=user.id, expires_at=clock.now() + timedelta(days=1))
        session.add(login)
        await session.flush()
        token = tokens.issue_access_token(settings, user_id=user.id, session_id=login.id)
    return org.id, user.id, token


async def per_call(calls: int, work: Callable[[], Awaitable[Any]]) -> float:
    """Microseconds per ``work()`` after a warm-up call."""
    await work()
    started = time.perf_counter()
    for _ in range(calls):
        await work()
    return (time.perf_counter() - started) / calls * 1e6


async def run(settings: Settings, calls: int, requests: int) -> None:
    app = create_app(settings, run_worker=False)
    async with LifespanManager(app):
        database: Database = app.state.resources.database
        org_id, user_id, token = await seed(database, settings)
        statements: list[str] = []
        async with database.read_sessionmaker() as session:
            org = await access.open_org(session, Actor(kind="user", id=str(user_id)), org_id)
            await flags_service.current_flags(session)  # warm: compiled and cached
            event.listen(database.engine.sync_engine, "before_cursor_execute", _into(statements))
            one = await per_call(calls, lambda: flags_service.is_enabled(session, org, KEY))
            every = await per_call(calls, lambda: flags_service.evaluate_all_for(session, org))
        service_statements = len(statements)
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            flags_url, org_url = f"/api/v1/orgs/{org_id}/flags", f"/api/v1/orgs/{org_id}"
            flags = await per_call(requests, lambda: client.get(flags_url, headers=headers))
            flag_reads = sum("feature_flag" in sql for sql in statements)
            baseline = await per_call(requests, lambda: client.get(org_url, headers=headers))
    print(f"backend: {settings.database_url.split(':', 1)[0]}; 3 flags (EXAMPLE_FLAGS), warm")
    print(f"flags_service.is_enabled(session, org, key)   {one:8.2f} µs/call")
    print(f"flags_service.evaluate_all_for(session, org)  {every:8.2f} µs/call")
    print(f"statements sent by the {2 * calls + 2:,} service calls: {service_statements}")
    print(f"GET /api/v1/orgs/{{id}}/flags (in-process)      {flags / 1000:8.3f} ms/request")
    print(f"GET /api/v1/orgs/{{id}} (baseline)              {baseline / 1000:8.3f} ms/request")
    print(f"statements on the flags tables over {requests + 1:,} flag requests: {flag_reads}")


def _into(statements: list[str]) -> Callable[..., None]:
    def seen(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        statements.append(sql)

    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2_000)
    args = parser.parse_args()
    with bench_settings() as settings:
        asyncio.run(run(settings, args.calls, args.requests))


if __name__ == "__main__":
    main()
