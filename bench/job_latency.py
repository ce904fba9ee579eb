"""Latency from the commit that enqueues a job to its handler starting, in a worker that
cannot be woken in-process (as when the enqueue happens in another process).

    KEEL_DATABASE__URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test \\
        uv run python -m bench.job_latency [--jobs 40] [--poll 1.0]

Prints the figures with LISTEN/NOTIFY on and off. Without KEEL_DATABASE__URL it runs on
SQLite, where only polling applies (one process there wakes its worker in-process).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bench.support import bench_settings
from keel.config import Settings
from keel.kit import jobs
from keel.kit.db import Database, create_engine
from keel.kit.deps import open_resources
from keel.kit.jobs import JobContext, queue
from keel.kit.jobs.runner import Runner


async def measure(settings: Settings, count: int) -> list[float]:
    started: dict[int, float] = {}
    latencies: list[float] = []
    arrived = asyncio.Event()

    async def handler(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        latencies.append(time.perf_counter() - started[payload["n"]])
        arrived.set()

    resources = open_resources(settings)
    worker_resources = open_resources(settings, database=Database(create_engine(settings)))
    worker = Runner(worker_resources, {"bench.ping": handler})
    await worker.start()
    queue.unregister_wakeup(worker._wakeup)  # only NOTIFY or the poll may wake it
    await asyncio.sleep(0.5)
    for n in range(count):
        arrived.clear()
        async with resources.database.transaction() as session:
            await jobs.enqueue(session, "bench.ping", {"n": n})
            started[n] = time.perf_counter()  # the commit follows at once
        await asyncio.wait_for(arrived.wait(), timeout=30)
        await asyncio.sleep(0.05)
    await worker.stop()
    await worker_resources.database.dispose()
    await resources.database.dispose()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--poll", type=float, default=1.0)
    args = parser.parse_args()
    for listen in (False, True):
        with bench_settings(poll_interval=args.poll, listen=listen) as settings:
            backend = settings.database_url.split(":", 1)[0]
            lat = asyncio.run(measure(settings, args.jobs))
        ms = sorted(x * 1000 for x in lat)
        print(
            f"backend={backend} listen={listen} poll_s={args.poll} jobs={args.jobs} "
            f"p50_ms={statistics.median(ms):.1f} max_ms={ms[-1]:.1f}"
        )


if __name__ == "__main__":
    main()
