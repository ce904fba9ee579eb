"""A local stand-in for a Slack incoming webhook (a real HTTP server on 127.0.0.1): records
what is posted and answers as Slack does, 200 ``ok`` or an error status with a reason."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class SlackHook:
    """What the fake workspace received, and how it answers the next post."""

    port: int = 0
    posts: list[dict[str, Any]] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    status: int = 200
    reply: bytes = b"ok"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/services/T000/B000/secret-part"


class _HookServer(ThreadingHTTPServer):
    hook: SlackHook


class _Handler(BaseHTTPRequestHandler):
    server: _HookServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.hook.posts.append(json.loads(body))
        self.server.hook.content_types.append(self.headers.get("Content-Type", ""))
        self.send_response(self.server.hook.status)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(self.server.hook.reply)

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def slack_hook_server() -> Iterator[SlackHook]:
    server = _HookServer(("127.0.0.1", 0), _Handler)
    server.hook = SlackHook(port=server.server_port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.hook
    finally:
        server.shutdown()
        server.server_close()
