"""The SSRF guard: refused address classes at save time (``check_url``) and at send time
(the guarded client, which connects to the address it checked)."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from keel.kit import outbound
from keel.kit.outbound import ForbiddenDestination, OutboundOptions, guarded_client
from tests.webhooks.receiver import Reply, receiving


@pytest.mark.parametrize(
    ("url", "address_class"),
    [
        ("http://127.0.0.1/hook", "loopback"),
        ("http://10.0.0.1/hook", "private"),
        ("http://192.168.1.10/hook", "private"),
        ("http://172.16.0.1/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://169.254.10.1/", "link-local"),
        ("http://0x7f000001/hook", "loopback"),
        ("http://2130706433/hook", "loopback"),
        ("http://localhost/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://[::ffff:169.254.169.254]/", "cloud metadata"),
        ("http://[fd00:ec2::254]/", "cloud metadata"),
        ("http://[fe80::1]/", "link-local"),
        ("http://224.0.0.1/", "multicast"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://100.64.0.1/", "reserved"),
    ],
)
async def test_check_url__forbidden_address__refused_naming_its_class(
    url: str, address_class: str
) -> None:
    # When a URL whose host means a forbidden address is checked
    with pytest.raises(ForbiddenDestination) as refused:
        await outbound.check_url(url, allow_loopback=False)
    # Then it is refused, and the reason names the class
    assert refused.value.address_class == address_class
    assert address_class in refused.value.reason


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://example.com/", "http"),
        ("file:///etc/passwd", "http"),
        ("http://user:pw@example.com/", "password"),
        ("http://0177.0.0.1/", "not a URL"),
        ("http://no-such-host.invalid/", "does not resolve"),
    ],
)
async def test_check_url__bad_shape__refused(url: str, words: str) -> None:
    with pytest.raises(ForbiddenDestination) as refused:
        await outbound.check_url(url, allow_loopback=False)
    assert words in refused.value.reason


async def test_check_url__loopback_allowed__loopback_passes_private_still_refused() -> None:
    # Given the development setting that allows loopback
    # Then loopback passes, in every spelling
    for url in ("http://127.0.0.1:8080/", "http://localhost/", "http://0x7f000001/"):
        await outbound.check_url(url, allow_loopback=True)
    # And private and metadata addresses are still refused
    for url in ("http://10.0.0.1/", "http://169.254.169.254/"):
        with pytest.raises(ForbiddenDestination):
            await outbound.check_url(url, allow_loopback=True)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "93.184.216.34"])
def test_address_class__public_address__none(address: str) -> None:
    assert outbound.address_class(ipaddress.ip_address(address)) is None


async def test_guarded_client__loopback_not_allowed__refused_before_connecting() -> None:
    # Given a real server on 127.0.0.1 and a client that does not allow loopback
    with receiving() as receiver:
        client = guarded_client(OutboundOptions(allow_loopback=False))
        try:
            # When it is called by a name that resolves to loopback and by a hex IP
            for url in (
                receiver.url.replace("127.0.0.1", "localhost"),
                receiver.url.replace("127.0.0.1", "0x7f000001"),
            ):
                with pytest.raises(ForbiddenDestination):
                    await client.post(url, content=b"{}")
        finally:
            await client.aclose()
    # Then the server never saw a request
    assert receiver.received == []


async def test_guarded_client__loopback_allowed__posts_keeping_host_and_no_redirects() -> None:
    # Given a server redirecting elsewhere, and a client allowing loopback (tests)
    with receiving() as final, receiving() as server:
        server.script = [Reply(302, b"", (("location", final.url),))]
        client = guarded_client(OutboundOptions(allow_loopback=True))
        try:
            # When it posts to the server by name
            url = server.url.replace("127.0.0.1", "localhost")
            response = await client.post(url, content=b"{}")
        finally:
            await client.aclose()
    # Then the answer is the 302 itself, the Host header kept the name, nothing followed
    assert response.status_code == 302
    assert server.received[0].headers["host"] == f"localhost:{server.port}"
    assert final.received == []


async def test_guarded_client__proxy_environment__ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a proxy in the environment (a proxy would resolve names past the guard)
    monkeypatch.setenv("HTTP_PROXY", "http://10.0.0.1:3128")
    monkeypatch.setenv("ALL_PROXY", "http://10.0.0.1:3128")
    with receiving() as server:
        client = guarded_client(OutboundOptions(allow_loopback=True, timeout_seconds=2))
        try:
            # When the client posts
            response = await client.post(server.url, content=b"{}")
        finally:
            await client.aclose()
    # Then it went straight to the server
    assert response.status_code == 200
    assert len(server.received) == 1


async def test_guarded_client__unix_socket_transport__refused() -> None:
    backend = outbound.GuardedBackend(allow_loopback=True)
    with pytest.raises(ForbiddenDestination):
        await backend.connect_unix_socket("/var/run/docker.sock")


def test_parse__ok_url__httpx_url() -> None:
    assert outbound.parse("https://example.com/hook?x=1") == httpx.URL(
        "https://example.com/hook?x=1"
    )
