"""``keel serve`` as an operator starts it: a real process, a real port, a fresh database."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import Cli
from tests.cli.support import KEEL_BIN, free_port, keel_env, process_env, stop

STARTUP_BUDGET = 3.0


@pytest.fixture(scope="module")
def bytecode_cache(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str | None]:
    """Deployed Keel runs from compiled bytecode (``UV_COMPILE_BYTECODE=1`` in the image);
    this sandbox sets PYTHONDONTWRITEBYTECODE, which would make every start compile every
    module from source. So the server gets a bytecode cache of its own, warmed once."""
    env: dict[str, str | None] = {
        "PYTHONDONTWRITEBYTECODE": None,
        "PYTHONPYCACHEPREFIX": str(tmp_path_factory.mktemp("pycache")),
    }
    warm = _start(keel_env(tmp_path_factory.mktemp("warm")) | env)
    _first_health(warm[0], warm[1], timeout=60)
    stop(warm[0])
    return env


def _start(env: dict[str, str | None]) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    process = subprocess.Popen(
        [str(KEEL_BIN), "serve", "--port", str(port)],
        env=process_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, port


def _first_health(process: subprocess.Popen[str], port: int, *, timeout: float) -> float:
    """Seconds from now until GET /health answers 200."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            pytest.fail(f"keel serve exited {process.returncode}:\n{process.communicate()[1]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            time.sleep(0.02)
    pytest.fail(f"GET /health did not answer 200 within {timeout}s")


def test_serve__fresh_sqlite__health_within_3s_and_sigterm_exits_cleanly(
    bytecode_cache: dict[str, str | None], tmp_path: Path
) -> None:
    # Given a data dir with no database yet
    env = keel_env(tmp_path / "var") | bytecode_cache

    # When: the clock starts before the process does (interpreter start-up included)
    started = time.perf_counter()
    process, port = _start(env)
    _first_health(process, port, timeout=30)
    elapsed = time.perf_counter() - started
    ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5)
    code, stderr = stop(process)

    # Then
    assert elapsed < STARTUP_BUDGET, f"first 200 after {elapsed:.2f}s"
    assert ready.status_code == 200, ready.text  # migrated by serve itself
    assert (tmp_path / "var" / "keel.db").is_file()
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert "Application shutdown complete" in stderr


def test_serve__reload_with_several_workers__usage_error(cli: Cli) -> None:
    result = cli("serve", "--reload", "--workers", "2")

    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
