"""HTTP latency and throughput of a real `keel serve` process on 127.0.0.1.

    uv run python -m bench.http_latency [--requests 3000] [--concurrency 32] [--path /health]

Starts `keel serve` on a free port with a fresh SQLite database, waits for /health, then sends
a bounded number of requests from one client process and prints requests/s and latency
percentiles. Client and server share this machine's cores, so figures are conservative.
When `wrk` is installed (Debian package `wrk`) it also runs wrk for 5 s: a C client that
takes far less CPU from the server than the Python one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, data_dir: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KEEL_DATA_DIR": data_dir, "KEEL_LOG__LEVEL": "WARNING"}
    keel = os.path.join(os.path.dirname(sys.executable), "keel")
    return subprocess.Popen(
        [keel, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def wait_healthy(base: str, within: float = 20.0) -> float:
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base) as client:
        while time.perf_counter() - started < within:
            try:
                if (await client.get("/health")).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.02)
    raise RuntimeError("keel serve did not become healthy")


async def load(base: str, path: str, total: int, concurrency: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    remaining = total
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            response = await client.get(path)
            latencies.append(time.perf_counter() - started)
            if response.status_code >= 500:
                raise RuntimeError(f"server error {response.status_code}")

    async with httpx.AsyncClient(base_url=base, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--path", default="/health")
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(port, tmp)
        try:
            boot = asyncio.run(wait_healthy(base))
            asyncio.run(load(base, args.path, 200, args.concurrency))  # warm-up
            elapsed, lat = asyncio.run(load(base, args.path, args.requests, args.concurrency))
            wrk = run_wrk(base + args.path, args.concurrency)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=15)
    print(
        f"path={args.path} requests={args.requests} concurrency={args.concurrency} "
        f"first_health_s={boot:.2f} rps={args.requests / elapsed:.0f} "
        f"p50_ms={pct(lat, 50):.1f} p95_ms={pct(lat, 95):.1f} p99_ms={pct(lat, 99):.1f}"
    )
    if wrk:
        print(f"wrk: {wrk}")


def run_wrk(url: str, concurrency: int) -> str | None:
    """wrk's requests/s and latency percentiles, or None when wrk is not installed."""
    if shutil.which("wrk") is None:
        return None
    out = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", "-d5s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    wanted = ("50%", "90%", "99%", "Requests/sec")
    return " ".join(
        "=".join(line.split()[:2]) for line in out.splitlines() if line.strip().startswith(wanted)
    )


if __name__ == "__main__":
    main()
