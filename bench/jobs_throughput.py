"""Job runner throughput: enqueue N no-op jobs, drain them with W workers, print jobs/s.

    uv run python -m bench.jobs_throughput [--jobs 2000] [--workers 2] [--concurrency 8]
    KEEL_DATABASE__URL=postgresql+asyncpg://postgres@127.0.0.1:5432/<db> uv run python ...

Without KEEL_DATABASE__URL it uses a fresh SQLite file in a temporary directory. On
PostgreSQL it creates and drops its own database next to the one named.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bench.support import bench_settings
from keel.config import Settings
from keel.kit import jobs
from keel.kit.db import Database, create_engine
from keel.kit.deps import Resources, open_resources
from keel.kit.jobs import JobContext
from keel.kit.jobs.models import DONE, Job
from keel.kit.jobs.runner import Runner


async def noop(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
    return None


async def _done(database: Database) -> int:
    async with database.transaction() as session:
        stmt = select(func.count()).select_from(Job).where(Job.status == DONE)
        return int(await session.scalar(stmt) or 0)


async def run(settings: Settings, job_count: int, worker_count: int) -> float:
    resources = open_resources(settings)
    async with resources.database.transaction() as session:
        for n in range(job_count):
            await jobs.enqueue(session, "bench.noop", {"n": n})
    runners = [
        Runner(
            Resources(
                settings, Database(create_engine(settings)), resources.cache, resources.broadcast
            ),
            {"bench.noop": noop},
        )
        for _ in range(worker_count)
    ]
    started = time.perf_counter()
    for r in runners:
        await r.start()
    while await _done(resources.database) < job_count:
        await asyncio.sleep(0.02)
    elapsed = time.perf_counter() - started
    for r in runners:
        await r.stop()
        await r.resources.database.dispose()
    await resources.database.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with bench_settings(concurrency=args.concurrency, poll_interval=0.01) as settings:
        elapsed = asyncio.run(run(settings, args.jobs, args.workers))
        backend = settings.database_url.split(":", 1)[0]
    rate = args.jobs / elapsed
    print(
        f"backend={backend} jobs={args.jobs} workers={args.workers} "
        f"concurrency={args.concurrency} seconds={elapsed:.2f} jobs_per_second={rate:.0f}"
    )


if __name__ == "__main__":
    main()
