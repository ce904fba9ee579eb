"""Mail transport: hands a finished :class:`~email.message.EmailMessage` to an SMTP server, or,
when none is configured, to a file under ``<data_dir>/mail`` so development needs no server.

Nothing here knows what a message says; ``keel.notifications`` renders and queues mail. The
SMTP password is kept out of every log line, exception and ``repr``: errors name the host and
port only.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import SplitResult, unquote, urlsplit

import aiosmtplib
import structlog

from keel.config import Settings, SmtpSettings
from keel.kit import clock

URL_SHAPE = "KEEL_SMTP__URL must look like smtp://user:pass@host:587 or smtps://host:465"
_DEFAULT_PORTS = {"smtp": 587, "smtps": 465}
_STARTTLS: dict[Literal["auto", "always", "never"], bool | None] = {
    "auto": None,  # aiosmtplib upgrades when the server offers STARTTLS
    "always": True,
    "never": False,
}


class MailTransport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...

    async def ping(self) -> None: ...


class InvalidSmtpSettings(ValueError):
    """``KEEL_SMTP__*`` cannot be used as given; the message says which variable to fix."""


class MailServerError(Exception):
    """The SMTP server could not be reached, refused the login, or refused the message."""


@dataclass(frozen=True)
class SmtpEndpoint:
    host: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpEndpoint:
    """Read ``smtp://`` or ``smtps://`` URLs; user and password are percent-decoded so a
    password may contain ``@`` or ``:`` written as ``%40`` and ``%3A``."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise InvalidSmtpSettings(
            f"{URL_SHAPE}; its port is not a number from 1 to 65535"
        ) from None
    if parts.scheme not in _DEFAULT_PORTS:
        raise InvalidSmtpSettings(f"{URL_SHAPE}; the scheme must be smtp or smtps")
    if not parts.hostname:
        raise InvalidSmtpSettings(f"{URL_SHAPE}; the host is missing")
    username, password = _credentials(parts)
    return SmtpEndpoint(
        host=parts.hostname,
        port=port or _DEFAULT_PORTS[parts.scheme],
        implicit_tls=parts.scheme == "smtps",
        username=username,
        password=password,
    )


def _credentials(parts: SplitResult) -> tuple[str | None, str | None]:
    if parts.username is None and parts.password is None:
        return None, None
    if not parts.username or parts.password is None:
        raise InvalidSmtpSettings(f"{URL_SHAPE}; give both a user and a password, or neither")
    return unquote(parts.username), unquote(parts.password)


class SmtpTransport:
    """One connection per message: mail is sent from jobs, rarely enough that a pool would
    only add stale-connection failures."""

    def __init__(self, endpoint: SmtpEndpoint, smtp: SmtpSettings) -> None:
        self.endpoint = endpoint
        self.settings = smtp

    def __repr__(self) -> str:
        return f"SmtpTransport({self.endpoint.address})"

    def _client(self) -> aiosmtplib.SMTP:
        endpoint, smtp = self.endpoint, self.settings
        return aiosmtplib.SMTP(
            hostname=endpoint.host,
            port=endpoint.port,
            username=endpoint.username,
            password=endpoint.password,
            use_tls=endpoint.implicit_tls,
            start_tls=False if endpoint.implicit_tls else _STARTTLS[smtp.starttls],
            validate_certs=smtp.validate_certs,
            cert_bundle=str(smtp.ca_file) if smtp.ca_file else None,
            timeout=smtp.timeout,
        )

    async def send(self, message: EmailMessage) -> None:
        try:
            async with self._client() as client:
                await client.send_message(message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise self._failure("sending to", exc) from exc

    async def ping(self) -> None:
        """Connect, log in when credentials are set, EHLO and NOOP: proves the whole path a
        real message would take, for ``/ready`` and ``keel doctor``."""
        try:
            async with self._client() as client:
                if client.last_ehlo_response is None:
                    await client.ehlo()
                await client.noop()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise self._failure("checking", exc) from exc

    def _failure(self, action: str, exc: BaseException) -> MailServerError:
        return MailServerError(
            f"SMTP server {self.endpoint.address} failed while {action} it "
            f"({type(exc).__name__}: {exc}); check KEEL_SMTP__URL and that the server is up"
        )


class FileTransport:
    """Development mail: each message becomes an ``.eml`` file any mail client opens."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __repr__(self) -> str:
        return f"FileTransport({self.directory})"

    async def send(self, message: EmailMessage) -> None:
        name = f"{clock.now():%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex}.eml"
        path = self.directory / name
        await asyncio.to_thread(self._write, path, message.as_bytes())
        # Fetched per call, not cached at import: test log capture must see this line.
        structlog.get_logger("kit.mail").info(
            "mail.written", subject=message["Subject"], to=message["To"], path=str(path)
        )

    async def ping(self) -> None:
        await asyncio.to_thread(self.directory.mkdir, parents=True, exist_ok=True)

    def _write(self, path: Path, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def transport_for(settings: Settings) -> MailTransport:
    smtp = settings.smtp
    if not smtp.url:
        return FileTransport(settings.data_dir / "mail")
    if smtp.ca_file is not None and not smtp.ca_file.is_file():
        raise InvalidSmtpSettings(
            f"KEEL_SMTP__CA_FILE={smtp.ca_file} is not a file; point it at a PEM CA bundle"
        )
    return SmtpTransport(parse_smtp_url(smtp.url), smtp)
