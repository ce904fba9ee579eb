"""One HTTP attempt: sign, POST through the guarded client, keep what the log needs.

Never raises for what the receiver or the network does: every outcome is an
:class:`Outcome`, so one bad endpoint cannot fail a batch.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

import httpx

from keel.config import WebhookSettings
from keel.kit import clock
from keel.kit.outbound import ForbiddenDestination
from keel.kit.security import KeyRing
from keel.webhooks import rules
from keel.webhooks.models import SLACK, WebhookEndpoint
from keel.webhooks.service import metrics

#: The ``webhook_attempts.error`` column's length.
ERROR_LIMIT = 500


@dataclass(frozen=True)
class Target:
    """What sending needs of an endpoint, decrypted once per batch."""

    id: uuid.UUID
    kind: str
    url: str
    secrets: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    delivery_id: uuid.UUID
    number: int
    started_at: datetime
    status: int | None
    latency_ms: int
    excerpt: str | None
    error: str | None
    retry_after: float | None

    @property
    def succeeded(self) -> bool:
        return rules.is_success(self.status)


def secret_context(endpoint_id: uuid.UUID) -> bytes:
    """Binds a stored secret to its row: a ciphertext copied to another row won't decrypt."""
    return b"webhook-secret:" + endpoint_id.bytes


def seal(keyring: KeyRing, endpoint_id: uuid.UUID, secret: str) -> bytes:
    return keyring.encrypt(secret.encode(), context=secret_context(endpoint_id))


def unseal(keyring: KeyRing, endpoint_id: uuid.UUID, sealed: bytes) -> str:
    return keyring.decrypt(sealed, context=secret_context(endpoint_id)).decode()


def target_of(endpoint: WebhookEndpoint, keyring: KeyRing, *, now: datetime) -> Target:
    previous = (
        unseal(keyring, endpoint.id, endpoint.previous_secret)
        if endpoint.previous_secret is not None
        else None
    )
    secrets = rules.signing_secrets(
        unseal(keyring, endpoint.id, endpoint.secret),
        previous,
        endpoint.previous_secret_expires_at,
        now=now,
    )
    return Target(endpoint.id, endpoint.kind, endpoint.url, tuple(secrets))


def request_of(target: Target, message_id: uuid.UUID, body: bytes) -> tuple[bytes, dict[str, str]]:
    """The body and headers to send now: Standard Webhooks' three headers for a webhook
    (timestamp of this attempt, signed afresh), Slack's plain ``{"text"}`` for Slack."""
    if target.kind == SLACK:
        return rules.slack_body(body), {"content-type": "application/json"}
    msg_id = rules.message_id(message_id)
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": rules.signature_header(
            target.secrets, msg_id=msg_id, timestamp=timestamp, body=body
        ),
    }
    return body, headers


async def attempt(
    client: httpx.AsyncClient,
    target: Target,
    *,
    delivery_id: uuid.UUID,
    number: int,
    message_id: uuid.UUID,
    body: bytes,
    settings: WebhookSettings,
    started_at: datetime,
) -> Outcome:
    content, headers = request_of(target, message_id, body)
    began = time.perf_counter()
    status, excerpt, error, retry_after = None, None, None, None
    try:
        async with asyncio.timeout(settings.timeout_seconds):
            status, excerpt, retry_after = await _post(
                client, target.url, content, headers, settings
            )
    except ForbiddenDestination as exc:
        error = f"refused by the SSRF guard: {exc.reason}"
    except (TimeoutError, httpx.TimeoutException):
        error = f"timed out after {settings.timeout_seconds:g} s"
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    elapsed = time.perf_counter() - began
    outcome = Outcome(
        delivery_id,
        number,
        started_at,
        status,
        round(elapsed * 1000),
        excerpt,
        rules.clean_text(error, ERROR_LIMIT) if error is not None else None,
        retry_after,
    )
    _observe(outcome, elapsed)
    return outcome


async def _post(
    client: httpx.AsyncClient,
    url: str,
    content: bytes,
    headers: dict[str, str],
    settings: WebhookSettings,
) -> tuple[int, str, float | None]:
    """Reads no more of the response than the log keeps."""
    async with client.stream("POST", url, content=content, headers=headers) as response:
        kept = bytearray()
        async for chunk in response.aiter_bytes():
            kept += chunk
            if len(kept) >= settings.response_excerpt_bytes:
                break
        retry_after = rules.retry_after_seconds(
            response.headers.get("retry-after"), now=clock.now()
        )
        excerpt = rules.excerpt(bytes(kept), settings.response_excerpt_bytes)
        return response.status_code, excerpt, retry_after


def _observe(outcome: Outcome, elapsed: float) -> None:
    if rules.is_gone(outcome.status):
        label = "gone"
    else:
        label = "succeeded" if outcome.succeeded else "failed"
    metrics.DELIVERIES.labels(label).inc()
    metrics.DELIVERY_SECONDS.observe(elapsed)
