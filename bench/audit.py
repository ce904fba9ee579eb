"""Audit log: entries/s written (one per transaction, and many per transaction; W concurrent
writers on one organization's chain), the statements an audited request pays, and verify
speed.

    uv run python -m bench.audit [--entries 3000] [--writers 4]
    KEEL_DATABASE__URL=postgresql+asyncpg://postgres@127.0.0.1:5432/<db> uv run python ...

Without KEEL_DATABASE__URL it uses a fresh SQLite file in a temporary directory. On
PostgreSQL it creates and drops its own database next to the one named.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

from sqlalchemy import event

from bench.support import bench_settings
from keel.access.schemas import Actor
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.config import Settings
from keel.kit.db import Database, create_engine


async def _one(database: Database, org: uuid.UUID, actor: Actor) -> None:
    async with database.transaction() as session:
        await audit_service.record(
            session, actor, "project.updated", target=Target("project", "p", org)
        )


async def per_transaction(database: Database, entries: int, writers: int) -> float:
    org, actor = uuid.uuid4(), Actor(kind="user", id=str(uuid.uuid4()), ip="192.0.2.1")

    async def writer(count: int) -> None:
        for _ in range(count):
            await _one(database, org, actor)

    started = time.perf_counter()
    await asyncio.gather(*(writer(entries // writers) for _ in range(writers)))
    return (entries // writers * writers) / (time.perf_counter() - started)


async def batched(database: Database, entries: int) -> float:
    org, actor = uuid.uuid4(), Actor(kind="system", id="bench")
    started = time.perf_counter()
    async with database.transaction() as session:
        for n in range(entries):
            await audit_service.record(session, actor, "x.done", target=Target("x", str(n), org))
    return entries / (time.perf_counter() - started)


async def statements_per_entry(database: Database) -> int:
    """Round trips one more entry costs in a transaction that has already begun."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    org = uuid.uuid4()
    async with database.transaction() as session:
        await audit_service.record(session, Actor.system(), "x.done", organization_id=org)
        event.listen(database.engine.sync_engine, "before_cursor_execute", count)
        await audit_service.record(session, Actor.system(), "x.done", organization_id=org)
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)
    return len(seen)


async def verify_rate(database: Database) -> tuple[int, float]:
    async with database.transaction() as session:
        started = time.perf_counter()
        report = await audit_service.verify(session)
        assert report.ok, report.breaks
        return report.entries, report.entries / (time.perf_counter() - started)


async def run(settings: Settings, entries: int, writers: int) -> dict[str, float]:
    database = Database(create_engine(settings))
    try:
        results = {
            "entries_per_s_one_per_tx": await per_transaction(database, entries, writers),
            "entries_per_s_batched": await batched(database, entries),
            "statements_per_entry": await statements_per_entry(database),
        }
        checked, rate = await verify_rate(database)
        return {**results, "verified_entries": checked, "verify_entries_per_s": rate}
    finally:
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=3000)
    parser.add_argument("--writers", type=int, default=4)
    args = parser.parse_args()
    with bench_settings() as settings:
        results = asyncio.run(run(settings, args.entries, args.writers))
        backend = settings.database_url.split(":", 1)[0]
    figures = " ".join(f"{name}={value:.0f}" for name, value in results.items())
    print(f"backend={backend} entries={args.entries} writers={args.writers} {figures}")


if __name__ == "__main__":
    main()
