"""Job runner throughput: enqueue N no-op jobs, drain them with W workers, print jobs/s.

    uv run python bench/jobs_throughput.py [--jobs 2000] [--workers 2] [--concurrency 8]
    KEEL_DATABASE__URL=postgresql+asyncpg://postgres@127.0.0.1:5432/<db> uv run python ...

Without KEEL_DATABASE__URL it uses a fresh SQLite file in a temporary directory. On
PostgreSQL it creates and drops its own database next to the one named.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from keel.config import Settings
from keel.kit import jobs
from keel.kit.db import Database, create_engine
from keel.kit.deps import Resources, open_resources
from keel.kit.jobs import JobContext
from keel.kit.jobs.models import DONE, Job
from keel.kit.jobs.runner import Runner

ROOT = Path(__file__).resolve().parents[1]


async def noop(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
    return None


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(statement))
    await engine.dispose()


def _settings(url: str, data_dir: str, concurrency: int) -> Settings:
    return Settings(
        env="test",
        secret_key="bench-secret-key-long-enough-0123456789abcdef",
        data_dir=Path(data_dir),
        database={"url": url},  # type: ignore[arg-type]
        jobs={"concurrency": concurrency, "poll_interval": 0.01},  # type: ignore[arg-type]
        log={"level": "WARNING"},  # type: ignore[arg-type]
    )


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
    base = os.environ.get("KEEL_DATABASE__URL")
    with tempfile.TemporaryDirectory() as tmp:
        url = base or f"sqlite+aiosqlite:///{tmp}/bench.db"
        name = f"keel_bench_{uuid.uuid4().hex[:8]}"
        if base:
            url = make_url(base).set(database=name).render_as_string(hide_password=False)
            asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
        try:
            settings = _settings(url, tmp, args.concurrency)
            config = Config(str(ROOT / "alembic.ini"))
            config.attributes["settings"] = settings
            command.upgrade(config, "head")
            elapsed = asyncio.run(run(settings, args.jobs, args.workers))
        finally:
            if base:
                asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    backend = make_url(url).get_backend_name()
    rate = args.jobs / elapsed
    print(
        f"backend={backend} jobs={args.jobs} workers={args.workers} "
        f"concurrency={args.concurrency} seconds={elapsed:.2f} jobs_per_second={rate:.0f}"
    )


if __name__ == "__main__":
    main()
