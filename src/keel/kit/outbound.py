"""HTTP to URLs that users supply (webhooks, Slack), guarded against server-side request
forgery: a tenant must not make Keel call its own infrastructure.

Two walls, both on the addresses a name *resolves to*, never on the text of the URL:

- :func:`check_url` at save time, so a bad URL is refused while its author is there to fix it;
- :func:`guarded_client` at send time: its transport resolves the host itself, refuses
  forbidden addresses and then connects to the address it checked. A DNS answer that changes
  between the two (rebinding) therefore cannot slip through, and the ``Host`` header and TLS
  SNI still carry the original name.

Refused: loopback, private (RFC 1918, ULA), link-local (which holds the cloud metadata
address 169.254.169.254), multicast, unspecified, reserved and every other non-global range
(CGNAT, documentation ranges), IPv4-mapped IPv6 forms of all of these, and fd00:ec2::254.
Numeric host spellings (``2130706433``, ``0x7f000001``, ``0177.0.0.1``) go through the
system resolver as curl's do, so they are judged by the address they mean. ``allow_loopback``
lifts the loopback refusal only (development and tests).

The client follows no redirects (a 3xx is an answer, never a hop to an unchecked address) and
ignores proxy environment variables (a proxy would resolve the name itself, past the guard).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
SCHEMES = frozenset({"http", "https"})


class ForbiddenDestination(Exception):
    """The URL may not be called: ``reason`` says why in words a user can act on."""

    def __init__(self, reason: str, *, address_class: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.address_class = address_class


def address_class(ip: IPAddress) -> str | None:
    """The forbidden class ``ip`` belongs to, or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return address_class(ip.ipv4_mapped)
    if ip in METADATA_ADDRESSES:
        return "cloud metadata"
    checks = (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved or not ip.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def judge(ip: IPAddress, *, allow_loopback: bool) -> str | None:
    """Why ``ip`` is refused (its class), or None when it may be called."""
    found = address_class(ip)
    if found == "loopback" and allow_loopback:
        return None
    return found


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, through the system resolver (as a connect would)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ForbiddenDestination(
            f"The host {host!r} does not resolve ({exc.strerror}); use a public DNS name."
        ) from None
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


def refuse(host: str, addresses: Iterable[IPAddress], *, allow_loopback: bool) -> None:
    """Raise unless every address is allowed: a name answering with one public and one
    private address is refused as a whole, so which one gets used cannot matter."""
    for ip in addresses:
        found = judge(ip, allow_loopback=allow_loopback)
        if found is not None:
            shown = host if host == str(ip) else f"{host} (resolves to {ip})"
            raise ForbiddenDestination(
                f"{shown} is a {found} address; Keel only calls public internet addresses.",
                address_class=found,
            )


def parse(url: str) -> httpx.URL:
    """``url`` as httpx reads it, if its shape may be called at all."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise ForbiddenDestination("This is not a URL Keel can call.") from None
    if parsed.scheme not in SCHEMES:
        raise ForbiddenDestination("Only http:// and https:// URLs can be called.")
    if parsed.userinfo:
        raise ForbiddenDestination(
            "URLs with a user name or password are refused; authenticate with the signature."
        )
    if not parsed.host:
        raise ForbiddenDestination("The URL has no host.")
    return parsed


async def check_url(url: str, *, allow_loopback: bool) -> httpx.URL:
    """Save-time check: the URL's shape and every address its host resolves to now."""
    parsed = parse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    refuse(parsed.host, await resolve(parsed.host, port), allow_loopback=allow_loopback)
    return parsed


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network layer with the check in the one place every connection passes."""

    def __init__(self, *, allow_loopback: bool) -> None:
        self.allow_loopback = allow_loopback
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve(host, port)
        refuse(host, addresses, allow_loopback=self.allow_loopback)
        failure: Exception | None = None
        for ip in addresses:  # the checked addresses, never a second lookup
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"no address to connect to for {host}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise ForbiddenDestination("Unix sockets are never called.")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, *, allow_loopback: bool, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(allow_loopback=allow_loopback),
        )


@dataclass(frozen=True)
class OutboundOptions:
    allow_loopback: bool = False
    timeout_seconds: float = 15.0
    #: httpcore scans every pooled connection for each request: keep the pool modest.
    max_connections: int = 128


def guarded_client(options: OutboundOptions) -> httpx.AsyncClient:
    """One per process, shared: its keep-alive pool is what makes many deliveries cheap."""
    limits = httpx.Limits(
        max_connections=options.max_connections,
        max_keepalive_connections=options.max_connections,
        keepalive_expiry=30.0,
    )
    return httpx.AsyncClient(
        transport=GuardedTransport(allow_loopback=options.allow_loopback, limits=limits),
        timeout=httpx.Timeout(options.timeout_seconds),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": "Keel-Webhooks/1"},
    )
