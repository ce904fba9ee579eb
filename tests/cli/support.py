"""Helpers for CLI tests: environments, ports, subprocesses and committed seed data.

CLI tests are synchronous: commands call ``asyncio.run`` themselves, which cannot run inside
a test's event loop, so seeding goes through :func:`asyncio.run` as well.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import select

from keel.audit.models import AuditLog
from keel.config import Settings
from keel.kit import clock
from keel.kit.db import standalone_transaction
from keel.kit.jobs import enqueue, repository
from keel.kit.jobs.models import Job
from tests.conftest import TEST_SECRET

KEEL_BIN = Path(sys.executable).with_name("keel")
T = TypeVar("T")


def keel_env(data_dir: Path) -> dict[str, str | None]:
    """Every KEEL_ variable of the outer environment unset, then the test's own."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("KEEL_")}
    env.update(
        KEEL_ENV="test",
        KEEL_SECRET_KEY=TEST_SECRET,
        KEEL_DATA_DIR=str(data_dir),
        KEEL_LOG__FORMAT="json",
    )
    return env


def process_env(overrides: dict[str, str | None]) -> dict[str, str]:
    """``os.environ`` with ``overrides`` applied (None removes a variable)."""
    env = dict(os.environ)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop(process: subprocess.Popen[str], *, timeout: float = 20.0) -> tuple[int, str]:
    """SIGTERM, then the exit code and everything the process wrote to stderr."""
    process.send_signal(signal.SIGTERM)
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        pytest.fail(f"process ignored SIGTERM for {timeout}s; stderr:\n{stderr[-4000:]}")
    return process.returncode, stderr


committed = standalone_transaction  # one committed transaction, as another process sees it


def run(work: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await work()

    return asyncio.run(main())


async def seed_job(settings: Settings, *, name: str = "jobs.purge") -> uuid.UUID:
    async with committed(settings) as session:
        job_id = await enqueue(session, name, {})
    assert job_id is not None
    return job_id


async def seed_dead_job(settings: Settings, *, error: str) -> uuid.UUID:
    """A job that failed its only attempt, through the runner's own repository calls."""
    now = clock.now()
    async with committed(settings) as session:
        # Due before anything else, so the claim below takes exactly this job.
        job_id = await enqueue(session, "jobs.purge", {}, run_at=now - timedelta(days=365))
        [claimed] = await repository.claim(
            session, worker="test", now=now, limit=1, lease=timedelta(minutes=1)
        )
        assert claimed.id == job_id
        await repository.mark_failed(
            session, claimed, worker="test", now=now, error=error, retry_at=None
        )
    assert job_id is not None
    return job_id


async def job_status(settings: Settings, job_id: uuid.UUID) -> str:
    async with committed(settings) as session:
        return (await session.scalars(select(Job.status).where(Job.id == job_id))).one()


async def audit_actions(settings: Settings, target_id: str) -> list[tuple[str, str, str]]:
    async with committed(settings) as session:
        stmt = select(AuditLog.action, AuditLog.actor_kind, AuditLog.actor_id).where(
            AuditLog.target_id == target_id
        )
        return [(r.action, r.actor_kind, r.actor_id) for r in (await session.execute(stmt)).all()]
