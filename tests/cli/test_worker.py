"""``keel worker`` as a process: runs committed jobs, serves metrics, stops on SIGTERM."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from keel.config import Settings
from tests.cli.support import (
    KEEL_BIN,
    free_port,
    job_status,
    keel_env,
    process_env,
    run,
    seed_job,
    stop,
)


def _wait_for(condition: str, check: Callable[[], bool], *, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {condition}")


def _metrics(port: int) -> str:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=0.5).text
    except httpx.TransportError:
        return ""


def test_worker__job_committed__done_then_sigterm_exits_0(
    db_settings: Settings, tmp_path: Path
) -> None:
    # Given a worker on a migrated database, serving metrics
    metrics_port = free_port()
    env = keel_env(tmp_path / "var") | {
        "KEEL_DATABASE__URL": db_settings.database_url,
        "KEEL_JOBS__POLL_INTERVAL": "0.05",
        "KEEL_JOBS__METRICS_PORT": str(metrics_port),
    }
    process = subprocess.Popen(
        [str(KEEL_BIN), "worker", "--concurrency", "2"],
        env=process_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # When a job is enqueued in a committed transaction
        job_id = run(lambda: seed_job(db_settings, name="jobs.purge"))

        # Then the worker runs it
        _wait_for("job done", lambda: run(lambda: job_status(db_settings, job_id)) == "done")
        _wait_for("metrics", lambda: "keel_jobs_processed_total" in _metrics(metrics_port))
    finally:
        code, stderr = stop(process)

    # And stops cleanly on SIGTERM
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert "jobs.worker_stopped" in stderr
    assert '"concurrency": 2' in stderr
