"""Real ``keel serve`` processes over the test's database and Redis, for tests of what
crosses processes (cache invalidation, shared rate limits)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from keel.config import Settings
from tests.cli.support import KEEL_BIN, free_port, process_env, stop
from tests.conftest import TEST_REDIS_URL, TEST_SECRET, TEST_SIGNING_KEY


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen[str]
    url: str


def server_env(settings: Settings, data_dir: Path, redis_prefix: str) -> dict[str, str | None]:
    """The test's database and Redis, its signing key (so its tokens are valid), no worker."""
    return {
        "KEEL_ENV": "test",
        "KEEL_SECRET_KEY": TEST_SECRET,
        "KEEL_DATA_DIR": str(data_dir),
        "KEEL_DATABASE__URL": settings.database.url,
        "KEEL_DATABASE__MIGRATION_URL": settings.database.migration_url,
        "KEEL_REDIS__URL": TEST_REDIS_URL,
        "KEEL_REDIS__PREFIX": redis_prefix,
        "KEEL_AUTH__SIGNING_KEYS": json.dumps([TEST_SIGNING_KEY]),
        "KEEL_JOBS__EMBEDDED": "false",
        "KEEL_LOG__FORMAT": "json",
        "KEEL_LOG__LEVEL": "WARNING",
    }


def start(env: dict[str, str | None]) -> Server:
    port = free_port()
    process = subprocess.Popen(
        [str(KEEL_BIN), "serve", "--port", str(port)],
        env=process_env(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return Server(process, f"http://127.0.0.1:{port}")


def wait_healthy(server: Server, *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            _, stderr = server.process.communicate()
            pytest.fail(f"keel serve exited {server.process.returncode}:\n{stderr[-4000:]}")
        try:
            if httpx.get(f"{server.url}/health", timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    pytest.fail(f"{server.url}/health did not answer within {timeout}s")


@contextmanager
def running(
    settings: Settings,
    data_dir: Path,
    redis_prefix: str,
    count: int = 2,
    *,
    overrides: Sequence[Mapping[str, str | None]] = (),
) -> Iterator[tuple[Server, ...]]:
    """``count`` servers, healthy; stopped afterwards, and none may have logged a traceback.
    ``overrides[i]`` changes server i's environment (``{"KEEL_JOBS__EMBEDDED": "true"}``)."""
    env = server_env(settings, data_dir, redis_prefix)
    extra = [*overrides, *([{}] * count)][:count]
    started = tuple(start({**env, **changes}) for changes in extra)
    try:
        for server in started:
            wait_healthy(server)
        yield started
    finally:
        for server in started:
            _, stderr = stop(server.process)
            assert "Traceback" not in stderr, stderr[-4000:]
