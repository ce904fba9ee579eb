"""Authentication cost on a real `keel serve` process on 127.0.0.1.

    uv run python -m bench.auth [--logins 40] [--requests 3000] [--concurrency 64]

Starts `keel serve` on a free port with a fresh SQLite database, creates one user, then prints:

* login/s: bound by argon2id on purpose (19 MiB, t=2 per attempt);
* authenticated `GET /api/v1/me` requests/s at 64 connections (wrk with a Bearer header when
  installed, else the Python client);
* the CPU per request of the access-token check alone (Ed25519 JWT verification + the cached
  session state), timed in-process: the figure the identity issue bounds at 0.2 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.http_latency import free_port, pct, start_server, wait_healthy
from keel.access.schemas import Actor
from keel.auth.service import sessions, tokens
from keel.config import Settings
from keel.kit.cache import MemoryCache
from keel.kit.db import Database, create_engine, standalone_transaction
from keel.users import service as users_service

EMAIL, PASSWORD = "bench@example.com", "correct horse battery staple 42"


async def create_user(settings: Settings) -> None:
    async with standalone_transaction(settings) as db:
        await users_service.create(db, Actor.system(), email=EMAIL, name="Bench", password=PASSWORD)


async def logins(base: str, total: int, concurrency: int) -> tuple[float, str]:
    """Seconds for ``total`` logins, and one access token for the next stage."""
    tokens_seen: list[str] = []
    queue = list(range(total))

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            queue.pop()
            response = await client.post(
                "/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD}
            )
            response.raise_for_status()
            tokens_seen.append(response.json()["access_token"])

    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return time.perf_counter() - started, tokens_seen[-1]


async def authenticated_load(
    base: str, token: str, total: int, concurrency: int
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    remaining = total
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}"}

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            response = await client.get("/api/v1/me")
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"GET /api/v1/me answered {response.status_code}")

    async with httpx.AsyncClient(base_url=base, limits=limits, headers=headers) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


def run_wrk(url: str, token: str, concurrency: int) -> str | None:
    import shutil
    import subprocess

    if shutil.which("wrk") is None:
        return None
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{concurrency}",
            "-d5s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    wanted = ("50%", "90%", "99%", "Requests/sec", "Non-2xx")
    return " ".join(
        "=".join(line.split()[:2]) for line in out.splitlines() if line.strip().startswith(wanted)
    )


async def check_cpu_us(settings: Settings, calls: int) -> float:
    """Microseconds per access-token check: verify the JWT, then read the session state from
    the in-process cache (a hit, as for every request but the first of a session per minute)."""
    cache = MemoryCache()
    session_id = uuid.uuid4()
    await cache.set(sessions.state_key(session_id), sessions.LIVE)
    token = tokens.issue_access_token(settings, user_id=uuid.uuid4(), session_id=session_id)
    database = Database(create_engine(settings))
    async with database.sessionmaker() as db:
        started = time.process_time()
        for _ in range(calls):
            claims = tokens.read_access_token(settings, token)
            if not await sessions.is_live(
                db, claims.session_id, user_id=claims.user_id, cache=cache
            ):
                raise RuntimeError("the cached session state was not found")
        elapsed = time.process_time() - started
    await database.dispose()
    return elapsed / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--logins", type=int, default=40)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--checks", type=int, default=20_000)
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        server = start_server(port, tmp)
        try:
            asyncio.run(wait_healthy(base))
            asyncio.run(create_user(settings))
            login_s, token = asyncio.run(logins(base, args.logins, 8))
            asyncio.run(authenticated_load(base, token, 200, args.concurrency))  # warm-up
            elapsed, lat = asyncio.run(
                authenticated_load(base, token, args.requests, args.concurrency)
            )
            wrk = run_wrk(base + "/api/v1/me", token, args.concurrency)
        finally:
            server.terminate()
            server.wait(timeout=15)
        check_us = asyncio.run(check_cpu_us(settings, args.checks))
    print(f"login: {args.logins} logins at 8 connections, {args.logins / login_s:.1f} logins/s")
    print(
        f"GET /api/v1/me (httpx): requests={args.requests} concurrency={args.concurrency} "
        f"rps={args.requests / elapsed:.0f} p50_ms={pct(lat, 50):.1f} p99_ms={pct(lat, 99):.1f}"
    )
    if wrk:
        print(f"GET /api/v1/me (wrk, {args.concurrency} connections): {wrk}")
    print(f"access-token check CPU: {check_us:.1f} us/request (JWT verify + cached session state)")


if __name__ == "__main__":
    main()
