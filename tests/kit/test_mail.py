"""Mail transports against a real SMTP server (aiosmtpd): URL parsing, AUTH, STARTTLS,
implicit TLS, certificate checks, ping, and the development file transport."""

from __future__ import annotations

import email
import time
import traceback
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from keel.config import Settings
from keel.kit.mail import (
    URL_SHAPE,
    FileTransport,
    InvalidSmtpSettings,
    MailServerError,
    SmtpEndpoint,
    SmtpTransport,
    parse_smtp_url,
    transport_for,
)
from tests.notifications.mailserver import (
    HOST,
    TlsFiles,
    free_port,
    make_tls_files,
    smtp_server,
    with_smtp,
)

# Plain-text AUTH is what these tests exercise; aiosmtpd warns about it on every connection.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

SECRET = "s3cr@t:pw"
SECRET_IN_URL = "s3cr%40t%3Apw"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def message(subject: str = "Hello", body: str = "the body") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Keel <no-reply@example.com>"
    msg["To"] = "alice@example.com"
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


def smtp_transport(settings: Settings, url: str, **smtp: object) -> SmtpTransport:
    transport = transport_for(with_smtp(settings, url=url, timeout=5.0, **smtp))
    assert isinstance(transport, SmtpTransport)
    return transport


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com", SmtpEndpoint("mail.example.com", 587, implicit_tls=False)),
        ("smtp://mail.example.com:25", SmtpEndpoint("mail.example.com", 25, implicit_tls=False)),
        ("smtps://mail.example.com", SmtpEndpoint("mail.example.com", 465, implicit_tls=True)),
        (
            f"smtp://us%40er:{SECRET_IN_URL}@mail.example.com:2525",
            SmtpEndpoint("mail.example.com", 2525, False, username="us@er", password=SECRET),
        ),
        ("  smtps://u:@h:4650 ", SmtpEndpoint("h", 4650, True, username="u", password="")),
    ],
)
def test_parse_smtp_url__valid_url__gives_decoded_endpoint(
    url: str, expected: SmtpEndpoint
) -> None:
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"http://user:{SECRET_IN_URL}@host:587", "scheme"),
        ("mail.example.com:587", "scheme"),
        (f"smtp://user:{SECRET_IN_URL}@:587", "host"),
        (f"smtp://user:{SECRET_IN_URL}@host:port", "port"),
        (f"smtp://user:{SECRET_IN_URL}@host:99999", "port"),
        ("smtp://user@host:587", "password"),
        (f"smtp://:{SECRET_IN_URL}@host:587", "user"),
    ],
)
def test_parse_smtp_url__malformed_url__explains_shape_without_password(
    url: str, reason: str
) -> None:
    with pytest.raises(InvalidSmtpSettings) as caught:
        parse_smtp_url(url)
    text = "".join(traceback.format_exception(caught.value))
    assert str(caught.value).startswith(URL_SHAPE)
    assert reason in str(caught.value)
    assert SECRET not in text and SECRET_IN_URL not in text


def test_transport_for__malformed_url__raises_invalid_settings(settings: Settings) -> None:
    with pytest.raises(InvalidSmtpSettings, match="KEEL_SMTP__URL must look like"):
        transport_for(with_smtp(settings, url="smtp//nope"))


def test_transport_for__missing_ca_file__names_the_variable(
    settings: Settings, tmp_path: Path
) -> None:
    bad = with_smtp(settings, url="smtp://mail.example.com", ca_file=tmp_path / "none.pem")
    with pytest.raises(InvalidSmtpSettings, match="KEEL_SMTP__CA_FILE"):
        transport_for(bad)


def test_transport_for__no_url__writes_files_under_data_dir(settings: Settings) -> None:
    transport = transport_for(with_smtp(settings, url=None))
    assert isinstance(transport, FileTransport)
    assert transport.directory == settings.data_dir / "mail"


def test_smtp_transport__repr__hides_password(settings: Settings) -> None:
    transport = smtp_transport(settings, f"smtp://alice:{SECRET_IN_URL}@{HOST}:2525")
    assert SECRET not in repr(transport) and SECRET not in repr(transport.endpoint)


async def test_smtp_transport__plain_server__delivers_message(settings: Settings) -> None:
    # Given a server without TLS or AUTH
    with smtp_server() as inbox:
        transport = smtp_transport(settings, f"smtp://{HOST}:{inbox.port}")
        # When a message is sent
        await transport.send(message(subject="Plain"))
    # Then it arrives intact
    [received] = inbox.messages
    assert received["Subject"] == "Plain"
    assert received["To"] == "alice@example.com"
    assert received.get_content().strip() == "the body"


async def test_smtp_transport__credentials_in_url__logs_in_before_sending(
    settings: Settings,
) -> None:
    with smtp_server(credentials=("alice", SECRET)) as inbox:
        transport = smtp_transport(settings, f"smtp://alice:{SECRET_IN_URL}@{HOST}:{inbox.port}")
        await transport.send(message())
    assert inbox.logins == ["alice"]
    assert len(inbox.messages) == 1


async def test_smtp_transport__wrong_password__fails_without_revealing_it(
    settings: Settings,
) -> None:
    with smtp_server(credentials=("alice", "right")) as inbox:
        transport = smtp_transport(settings, f"smtp://alice:{SECRET_IN_URL}@{HOST}:{inbox.port}")
        with pytest.raises(MailServerError) as caught:
            await transport.send(message())
    text = "".join(traceback.format_exception(caught.value))
    assert f"{HOST}:{inbox.port}" in str(caught.value)
    assert SECRET not in text and SECRET_IN_URL not in text
    assert inbox.messages == []


@pytest.mark.parametrize("starttls", ["auto", "always"])
async def test_smtp_transport__server_requires_starttls__upgrades_and_delivers(
    settings: Settings, tls: TlsFiles, starttls: str
) -> None:
    # Given a server that refuses everything before STARTTLS, and requires AUTH after it
    with smtp_server(
        credentials=("alice", SECRET),
        auth_require_tls=True,
        tls_context=tls.server_context(),
        require_starttls=True,
    ) as inbox:
        url = f"smtp://alice:{SECRET_IN_URL}@{HOST}:{inbox.port}"
        transport = smtp_transport(settings, url, starttls=starttls, ca_file=tls.cert)
        # When a message is sent, trusting the server's certificate through ca_file
        await transport.send(message())
    # Then the client upgraded, logged in and delivered
    assert inbox.logins == ["alice"]
    assert len(inbox.messages) == 1


async def test_smtp_transport__starttls_never__is_refused_by_tls_only_server(
    settings: Settings, tls: TlsFiles
) -> None:
    with smtp_server(tls_context=tls.server_context(), require_starttls=True) as inbox:
        transport = smtp_transport(
            settings, f"smtp://{HOST}:{inbox.port}", starttls="never", ca_file=tls.cert
        )
        with pytest.raises(MailServerError):
            await transport.send(message())
    assert inbox.messages == []


async def test_smtp_transport__untrusted_certificate__fails_unless_checks_disabled(
    settings: Settings, tls: TlsFiles
) -> None:
    with smtp_server(tls_context=tls.server_context(), require_starttls=True) as inbox:
        url = f"smtp://{HOST}:{inbox.port}"
        # Without ca_file the self-signed certificate is rejected...
        with pytest.raises(MailServerError):
            await smtp_transport(settings, url, starttls="always").send(message())
        # ...and accepted when certificate checks are switched off
        unchecked = smtp_transport(settings, url, starttls="always", validate_certs=False)
        await unchecked.send(message())
    assert len(inbox.messages) == 1


async def test_smtp_transport__smtps_url__uses_implicit_tls(
    settings: Settings, tls: TlsFiles
) -> None:
    with smtp_server(ssl_context=tls.server_context()) as inbox:
        transport = smtp_transport(settings, f"smtps://{HOST}:{inbox.port}", ca_file=tls.cert)
        await transport.ping()
        await transport.send(message(subject="Over TLS"))
    assert [m["Subject"] for m in inbox.messages] == ["Over TLS"]


async def test_ping__live_server_with_auth__succeeds_without_sending(settings: Settings) -> None:
    with smtp_server(credentials=("alice", SECRET)) as inbox:
        url = f"smtp://alice:{SECRET_IN_URL}@{HOST}:{inbox.port}"
        await smtp_transport(settings, url).ping()
    assert inbox.logins == ["alice"]
    assert inbox.messages == []


async def test_ping__closed_port__raises_quickly_naming_the_server(settings: Settings) -> None:
    port = free_port()
    transport = smtp_transport(settings, f"smtp://alice:{SECRET_IN_URL}@{HOST}:{port}")
    started = time.monotonic()
    with pytest.raises(MailServerError) as caught:
        await transport.ping()
    assert time.monotonic() - started < 2
    assert f"{HOST}:{port}" in str(caught.value)
    assert "KEEL_SMTP__URL" in str(caught.value)
    assert SECRET not in "".join(traceback.format_exception(caught.value))


async def test_file_transport__send__writes_parseable_eml_and_logs_without_body(
    settings: Settings, tmp_path: Path
) -> None:
    # Given no SMTP server configured
    transport = transport_for(
        with_smtp(settings, url=None).model_copy(update={"data_dir": tmp_path})
    )
    # When a message is sent
    with capture_logs() as logs:
        await transport.send(message(subject="Saved", body="secret body text"))
    # Then it is an .eml file under data_dir/mail
    [path] = (tmp_path / "mail").glob("*.eml")
    parsed = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert parsed["Subject"] == "Saved"
    assert isinstance(parsed, EmailMessage)
    assert parsed.get_content().strip() == "secret body text"
    # And one log line names subject, recipient and file, never the body
    [entry] = [e for e in logs if e["event"] == "mail.written"]
    assert entry["subject"] == "Saved"
    assert entry["to"] == "alice@example.com"
    assert entry["path"] == str(path)
    assert "secret body text" not in repr(logs)


async def test_file_transport__ping__creates_mail_directory(tmp_path: Path) -> None:
    transport = FileTransport(tmp_path / "var" / "mail")
    await transport.ping()
    assert (tmp_path / "var" / "mail").is_dir()
