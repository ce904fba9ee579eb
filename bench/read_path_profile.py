"""Where one worker spends a read request: the app in-process (httpx ASGITransport) on the
database seeded by ``bench.read_path``, timed and then profiled with cProfile.

    uv run python -m bench.read_path_profile [--scenario health|org|document|page] [--requests 2000]
                                             [--concurrency 16] [--top 30]

Run ``bench.read_path`` once first (it creates and seeds ``keel_bench_read``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.read_path import (
    REDIS_PREFIX,
    SECRET,
    clean_redis,
    load_tuples,
    signing_key,
    urls,
)
from keel.auth.service import tokens
from keel.config import Settings
from keel.main import create_app


def force_pre_ping() -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from keel.kit import db

    def with_pre_ping(url: Any, **kwargs: Any) -> Any:
        return create_async_engine(
            url, **{**kwargs, "pool_pre_ping": not str(url).startswith("sqlite")}
        )

    setattr(db, "create_async_engine", with_pre_ping)  # noqa: B010 - patching on purpose


def create_app_with_pre_ping() -> Any:
    """``keel.main:create_app`` on the old engine (pool_pre_ping on): the A/B server factory
    of ``bench.read_path --pre-ping``."""
    force_pre_ping()
    return create_app()


async def run(args: argparse.Namespace) -> None:
    if args.pre_ping:
        force_pre_ping()
    _, owner, runtime = urls()
    redis_url = os.environ.get("KEEL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
    key = signing_key()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            env="production",
            secret_key=SECRET,
            data_dir=Path(tmp),
            database={"url": runtime, "migration_url": owner},
            redis={"url": redis_url, "prefix": REDIS_PREFIX},
            auth={"signing_keys": [key], "access_token_minutes": 60},
            jobs={"embedded": False},
            log={"level": "WARNING"},
        )
        tuples = await load_tuples(owner, 5)
        api = "/api/v1/orgs"
        reqs: list[tuple[str, dict[str, str]]] = []
        for t in tuples:
            token = tokens.issue_access_token(settings, user_id=t.user_id, session_id=t.session_id)
            path = {
                "health": "/health",
                "org": f"{api}/{t.org_id}",
                "document": f"{api}/{t.org_id}/projects/{t.project_id}/documents/{t.document_id}",
                "page": f"{api}/{t.org_id}/projects/{t.project_id}/documents?limit=20",
            }[args.scenario]
            reqs.append((path, {"Authorization": f"Bearer {token}"}))
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

                async def batch(count: int) -> float:
                    queue = iter(range(count))

                    async def worker() -> None:
                        for n in queue:
                            path, headers = reqs[n % len(reqs)]
                            response = await client.get(path, headers=headers)
                            if response.status_code != 200:
                                raise RuntimeError(f"{path}: {response.status_code}")

                    started = time.perf_counter()
                    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
                    return time.perf_counter() - started

                await batch(len(reqs))  # warm caches: every session and org once
                cpu = time.process_time()
                wall = await batch(args.requests)
                cpu = time.process_time() - cpu
                print(
                    f"{args.scenario}: {args.requests / wall:.0f} req/s in-process, "
                    f"{cpu / args.requests * 1e3:.2f} ms CPU/request (client included)"
                )
                profiler = cProfile.Profile(time.process_time)
                profiler.enable()
                await batch(args.requests)
                profiler.disable()
        await clean_redis(redis_url)
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default="org", choices=("health", "org", "document", "page"))
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--pre-ping", action="store_true", help="force pool_pre_ping on (the old engine), for A/B"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
