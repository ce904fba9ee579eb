"""A throwaway ``redis-server`` on a free port of 127.0.0.1, for tests that stop Redis or read
its server-wide counters: the shared Redis (``KEEL_TEST_REDIS_URL``) is never touched."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

REDIS_SERVER = shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class ThrowawayRedis:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def start_redis_server(port: int) -> subprocess.Popen[bytes]:
    assert REDIS_SERVER is not None, "redis-server is not on PATH"
    command = [
        REDIS_SERVER,
        *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
        *("--daemonize", "no"),
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def wait_until_up(port: int, *, seconds: float = 10.0) -> None:
    client = Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
    try:
        for _ in range(int(seconds / 0.05)):
            try:
                await client.ping()
                return
            except (RedisError, OSError):
                await asyncio.sleep(0.05)
        raise TimeoutError(f"redis-server on port {port} did not answer within {seconds} s")
    finally:
        await client.aclose()


@asynccontextmanager
async def throwaway_redis() -> AsyncIterator[ThrowawayRedis]:
    port = free_port()
    server = ThrowawayRedis(port, start_redis_server(port))
    try:
        await wait_until_up(port)
        yield server
    finally:
        server.kill()
