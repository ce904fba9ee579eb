"""A real SMTP server for mail tests (aiosmtpd in a thread), on a free port of 127.0.0.1 so
parallel workers never collide, plus a throwaway self-signed certificate for TLS."""

from __future__ import annotations

import email
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from keel.config import Settings

HOST = "127.0.0.1"
_SELF_SIGNED = (
    "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
    "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost"
)


@dataclass
class Inbox:
    """The aiosmtpd handler: keeps every accepted message and every successful login."""

    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    @staticmethod
    def text_of(message: EmailMessage) -> str:
        """The plain-text part of ``message``; fails the test when there is none."""
        part = message.get_body(("plain",))
        assert part is not None, "the message has no text/plain part"
        return str(part.get_content())

    def titled(self, subject: str) -> EmailMessage:
        """The one message with ``subject`` (sign-up also sends a welcome mail, say)."""
        [message] = [m for m in self.messages if m["Subject"] == subject]
        return message

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=default_policy)
        self.messages.append(parsed)
        return "250 OK"


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def make_tls_files(directory: Path) -> TlsFiles:
    """A certificate for 127.0.0.1 and localhost; the cert is its own CA (``ca_file``)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("TLS mail tests need the openssl command to make a test certificate")
    files = TlsFiles(directory / "cert.pem", directory / "key.pem")
    subprocess.run(
        [openssl, *_SELF_SIGNED.split(), "-keyout", str(files.key), "-out", str(files.cert)],
        check=True,
        capture_output=True,
    )
    return files


def _password_checker(inbox: Inbox, user: str, password: str) -> Any:
    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == user.encode()
            and data.password == password.encode()
        )
        if ok:
            inbox.logins.append(user)
        # handled=False: aiosmtpd answers 235 or 535 itself; True would leave the client waiting
        return AuthResult(success=ok, handled=False)

    return authenticate


@contextmanager
def smtp_server(
    *, credentials: tuple[str, str] | None = None, **smtp_options: Any
) -> Iterator[Inbox]:
    """With ``credentials`` the server refuses mail until that user logs in. ``smtp_options``
    go to aiosmtpd: ``tls_context`` + ``require_starttls`` (STARTTLS), ``ssl_context``
    (implicit TLS), ``auth_require_tls``..."""
    inbox = Inbox(port=free_port())
    if credentials is not None:
        smtp_options.setdefault("auth_require_tls", False)
        smtp_options.update(
            authenticator=_password_checker(inbox, *credentials), auth_required=True
        )
    controller = Controller(inbox, hostname=HOST, port=inbox.port, **smtp_options)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def with_smtp(settings: Settings, **smtp: Any) -> Settings:
    return settings.model_copy(update={"smtp": settings.smtp.model_copy(update=smtp)})
