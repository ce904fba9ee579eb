"""Set-up steps the browser tests share, outside the browser: starting ``keel serve``, its
environment, a platform owner made as an operator makes one, API logins, TOTP turned on
through the API, and the mail the server wrote. Page steps live in ``support.py``."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, cast

import httpx
import pyotp
import pytest

from tests.cli.support import KEEL_BIN, free_port, process_env, stop
from tests.helpers.servers import Server

#: The embedded worker polls every second; a mail later than this is a failure.
MAIL_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class LiveServer(Server):
    """A running ``keel serve``: its URL and process, and what tests read around it."""

    #: ``KEEL_DATA_DIR``: its SQLite database and, with no SMTP configured, its mail.
    data_dir: Path
    #: The process's whole environment (for CLI commands against the same database).
    env: dict[str, str]

    @property
    def mail_dir(self) -> Path:
        """Where Keel writes each message as an ``.eml`` file when ``KEEL_SMTP__URL`` is
        unset (``keel.kit.mail.transport_for``)."""
        return self.data_dir / "mail"


@contextmanager
def serving(data_dir: Path, extra_env: Mapping[str, str] | None = None) -> Iterator[LiveServer]:
    """``keel serve`` on a free port of 127.0.0.1 as a developer runs it (every outer KEEL_
    variable unset; development, SQLite and the embedded worker under ``data_dir``), plus
    ``extra_env``; healthy before it is yielded, stopped afterwards, and it must have logged
    no traceback (a page that answered 500 fails the run here). Its log goes to a file: a
    pipe nobody reads would block the server once full."""
    overrides: dict[str, str | None] = {key: None for key in os.environ if key.startswith("KEEL_")}
    overrides |= {
        "KEEL_ENV": "development",
        "KEEL_DATA_DIR": str(data_dir),
        "KEEL_LOG__FORMAT": "json",
        "KEEL_LOG__LEVEL": "WARNING",
        **(extra_env or {}),
    }
    env = process_env(overrides)
    log_path = data_dir / "serve.log"
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(KEEL_BIN), "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    server = LiveServer(process, f"http://127.0.0.1:{port}", data_dir=data_dir, env=env)
    try:
        _wait_healthy(server, log_path)
        yield server
    finally:
        stop(process)
        output = log_path.read_text()
        assert "Traceback" not in output, output[-4000:]


def _wait_healthy(server: Server, log_path: Path, *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"keel serve exited {server.process.returncode}:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    pytest.fail(f"{server.url}/health did not answer within {timeout}s")


# ---- accounts through the CLI and the API ------------------------------------------------------


async def create_superadmin(
    server: LiveServer, email: str, password: str, *, name: str | None = None
) -> None:
    """``keel create-superadmin`` against the server's own database, as an operator runs it."""
    command = [str(KEEL_BIN), "create-superadmin", "--email", email]
    if name is not None:
        command += ["--name", name]
    done = await asyncio.to_thread(
        subprocess.run,
        command,
        input=f"{password}\n",
        env=server.env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


async def api_login(api: httpx.AsyncClient, email: str, password: str) -> dict[str, Any]:
    """Tokens of a new session through the API (a script, another device)."""
    answer = await api.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    return cast(dict[str, Any], answer.json())


async def bearer(api: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    """Authorization headers of a new API session."""
    tokens = await api_login(api, email, password)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


@dataclass(frozen=True)
class Totp:
    secret: str
    recovery_codes: list[str]


async def enroll_totp(api: httpx.AsyncClient, headers: dict[str, str]) -> Totp:
    """TOTP turned on through the API, confirmed with the previous step's code so the
    current one is still unused for the next login."""
    enrolled = await api.post("/api/v1/me/mfa/totp", headers=headers)
    assert enrolled.status_code == 201, enrolled.text
    secret = enrolled.json()["secret"]
    code = pyotp.TOTP(secret).at(time.time() - 30)
    confirmed = await api.post("/api/v1/me/mfa/totp/confirm", json={"code": code}, headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    return Totp(secret, confirmed.json()["recovery_codes"])


@dataclass(frozen=True)
class PlatformOwner:
    email: str
    password: str
    #: Bearer headers of the owner's API session (MFA on), for set-up through the admin API.
    headers: dict[str, str]
    totp: Totp


async def platform_owner(server: LiveServer, password: str, *, name: str) -> PlatformOwner:
    """A platform owner made with ``keel create-superadmin``, TOTP turned on through the API
    (admin endpoints want MFA)."""
    email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    await create_superadmin(server, email, password, name=name)
    async with httpx.AsyncClient(base_url=server.url) as api:
        headers = await bearer(api, email, password)
        totp = await enroll_totp(api, headers)
    return PlatformOwner(email, password, headers, totp)


# ---- mail -------------------------------------------------------------------------------------


async def wait_for_mail(
    mail_dir: Path, *, to: str, matching: re.Pattern[str] | None = None
) -> EmailMessage:
    """The newest message to ``to`` (whose plain text matches ``matching``, if given) the
    server wrote; the embedded worker sends shortly after the request: polled, never slept on
    blindly."""
    deadline = time.monotonic() + MAIL_TIMEOUT_S
    while time.monotonic() < deadline:
        found = await asyncio.to_thread(_newest_mail, mail_dir, to, matching)
        if found is not None:
            return found
        await asyncio.sleep(0.1)
    pytest.fail(f"no mail to {to} in {mail_dir} within {MAIL_TIMEOUT_S}s")


def _newest_mail(mail_dir: Path, to: str, matching: re.Pattern[str] | None) -> EmailMessage | None:
    for path in sorted(mail_dir.glob("*.eml"), reverse=True):
        message = message_from_bytes(path.read_bytes(), policy=default_policy)
        if message["To"] != to:
            continue
        if matching is None or matching.search(plain_text(message)):
            return message
    return None


def plain_text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None, message
    return cast(str, body.get_content())
