"""Shared set-up for the benchmarks: a migrated throwaway database on the backend named by
KEEL_DATABASE__URL (its own database next to the one named), or a fresh SQLite file."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from keel.config import Settings

ROOT = Path(__file__).resolve().parents[1]


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(statement))
    await engine.dispose()


@contextmanager
def bench_settings(**jobs: Any) -> Iterator[Settings]:
    base = os.environ.get("KEEL_DATABASE__URL")
    with tempfile.TemporaryDirectory() as tmp:
        url = base or f"sqlite+aiosqlite:///{tmp}/bench.db"
        name = f"keel_bench_{uuid.uuid4().hex[:8]}"
        if base:
            url = make_url(base).set(database=name).render_as_string(hide_password=False)
            asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
        try:
            settings = Settings(
                env="test",
                secret_key="bench-secret-key-long-enough-0123456789abcdef",
                data_dir=Path(tmp),
                database={"url": url},
                jobs=jobs,
                log={"level": "WARNING"},
            )
            config = Config(str(ROOT / "alembic.ini"))
            config.attributes["settings"] = settings
            command.upgrade(config, "head")
            yield settings
        finally:
            if base:
                asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
