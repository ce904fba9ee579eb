"""A real HTTP receiver on 127.0.0.1 for webhook tests: uvicorn in a thread of its own, so
Keel's client talks to it over TCP exactly as to a customer's server.

It answers from a script (a list of replies used in turn, the last one repeated) and keeps
every request it received; ``verified`` checks signatures with the ``standardwebhooks``
library, as a customer would.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks.webhooks import Webhook

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    script: list[Reply] = field(default_factory=lambda: [Reply()])
    port: int = 0
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/hook"

    def reply_for(self, count: int) -> Reply:
        return self.script[min(count, len(self.script) - 1)]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        if body is None:
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        with self._lock:
            reply = self.reply_for(len(self.received))
            self.received.append(Received(scope["path"], headers, body, time.time()))
        raw = [(b"content-length", str(len(reply.body)).encode())]
        raw += [(k.encode(), v.encode()) for k, v in reply.headers]
        await send({"type": "http.response.start", "status": reply.status, "headers": raw})
        await send({"type": "http.response.body", "body": reply.body})

    def ids(self) -> list[str]:
        return [r.headers.get("webhook-id", "") for r in self.received]


async def read_body(receive: Any) -> bytes | None:
    """An ASGI request's whole body; None if the sender died mid-request (nothing was
    received). Shared with the benchmark's receiver (``bench/webhooks.py``)."""
    body = b""
    while True:
        message: dict[str, Any] = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += bytes(message.get("body", b""))
        if not message.get("more_body"):
            return body


def verified(secret: str, received: Received) -> dict[str, Any]:
    """The payload, if the signature is valid for ``secret`` (raises otherwise)."""
    payload: dict[str, Any] = Webhook(secret).verify(received.body, received.headers)
    return payload


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def receiving(*replies: Reply) -> Iterator[Receiver]:
    receiver = Receiver(script=list(replies) or [Reply()], port=free_port())
    config = uvicorn.Config(
        receiver,
        host=HOST,
        port=receiver.port,
        log_level="error",
        lifespan="off",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test receiver did not start")
        time.sleep(0.01)
    try:
        yield receiver
    finally:
        server.should_exit = True
        thread.join(timeout=10)
