"""A ``keel worker`` killed with SIGKILL in the middle of N webhook deliveries, then a second
one started: prints how many distinct ``webhook-id``s the receiver saw (must be N), how many
requests were repeats (the at-least-once cost of the kill) and how long recovery took.

    uv run python -m bench.webhooks_crash [--events 1000] [--kill-at 0.3] [--lease 3]
    KEEL_DATABASE__URL=postgresql+asyncpg://postgres@127.0.0.1:5432/<db> uv run python ...

The receiver is bench/webhooks.py's (uvicorn in its own process on 127.0.0.1). The test
``tests/webhooks/test_worker_crash.py`` runs the same scenario at 1,000 events and also
verifies every signature.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.support import bench_settings
from bench.webhooks import (
    organization_with_endpoint,
    published,
    replace_webhooks,
    start_receiver,
    stats,
)
from keel.config import Settings
from keel.kit.deps import close_resources, open_resources
from keel.kit.logging import configure_logging

KEEL = Path(sys.executable).with_name("keel")


def worker(settings: Settings, lease: float) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    env.update(
        KEEL_ENV="test",
        KEEL_SECRET_KEY=settings.secret_key.get_secret_value(),
        KEEL_DATA_DIR=str(settings.data_dir),
        KEEL_DATABASE__URL=settings.database_url,
        KEEL_WEBHOOKS__ALLOW_LOOPBACK="true",
        KEEL_JOBS__LEASE_SECONDS=str(lease),
        KEEL_LOG__LEVEL="ERROR",
    )
    command = [str(KEEL), "worker", "--concurrency", "8"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def distinct(url: str) -> int:
    return int((await stats(url))["distinct"])


async def until(url: str, count: int, *, within: float) -> None:
    deadline = time.monotonic() + within
    while await distinct(url) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {count} deliveries within {within} s")
        await asyncio.sleep(0.05)


async def run(settings: Settings, events: int, kill_at: float, lease: float) -> dict[str, float]:
    receiver, url = start_receiver()
    resources = open_resources(settings)
    first = second = None
    try:
        org_id = await organization_with_endpoint(resources, url)
        await published(resources, org_id, events, offset=0)
        first = worker(settings, lease)  # the endpoint takes project.updated only
        await until(url, int(events * kill_at), within=300)
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = await distinct(url)
        restarted = time.perf_counter()
        second = worker(settings, lease)
        await until(url, events, within=600)
        recovery = time.perf_counter() - restarted
        await asyncio.sleep(1.0)  # late repeats arrive now and are counted
        final = await stats(url)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait()
        await close_resources(resources)
        receiver.terminate()
    return {
        "killed_at": killed_at,
        "distinct": final["distinct"],
        "requests": final["requests"],
        "recovery_seconds": recovery,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--kill-at", type=float, default=0.3, help="share delivered at the kill")
    parser.add_argument("--lease", type=float, default=3.0, help="KEEL_JOBS__LEASE_SECONDS")
    args = parser.parse_args()
    with bench_settings() as base:
        settings = replace_webhooks(base)
        configure_logging(settings)
        figures = asyncio.run(run(settings, args.events, args.kill_at, args.lease))
        backend = settings.database_url.split(":", 1)[0]
    print(
        f"backend={backend} events={args.events} killed_at={figures['killed_at']:.0f} "
        f"distinct_webhook_ids={figures['distinct']:.0f} "
        f"repeats={figures['requests'] - figures['distinct']:.0f} "
        f"recovery_seconds={figures['recovery_seconds']:.1f} "
        f"ok={figures['distinct'] == args.events}"
    )


if __name__ == "__main__":
    main()
