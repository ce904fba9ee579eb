"""The suite refuses to run when a test service it was told to use does not answer: a CI
run that meant to test PostgreSQL must never pass quietly on SQLite."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("variable", "url", "service"),
    [
        (
            "KEEL_TEST_DATABASE_URL",
            "postgresql+asyncpg://postgres@127.0.0.1:{port}/test",
            "PostgreSQL",
        ),
        ("KEEL_TEST_REDIS_URL", "redis://127.0.0.1:{port}/15", "Redis"),
    ],
)
def test_suite__named_service_unreachable__stops_with_clear_message(
    variable: str, url: str, service: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_TEST_")}
    env[variable] = url.format(port=closed_port())
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_config.py",
            "-p",
            "no:xdist",
            "-q",
            "-p",
            "no:cacheprovider",
            "--no-cov",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert f"{variable}=" in output
    assert f"{service} does not answer" in output
    assert "passed" not in output
