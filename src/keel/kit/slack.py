"""Slack incoming webhooks: post a message to the channel a webhook URL stands for.

Slack answers 200 with the body ``ok``; anything else (a revoked URL is 404 ``no_service``,
an archived channel 410 ``channel_is_archived``, a malformed message 400) is
:class:`SlackError`, so a job retries it or dies with the reason in its last error. The URL
is a secret (whoever has it may post): it never appears in an error or a log line.
"""

from __future__ import annotations

from typing import Any

import httpx

#: Slack's own limit for a message's text; longer text is cut, never refused.
TEXT_LIMIT = 3000
DEFAULT_TIMEOUT = 10.0


def escape(text: str) -> str:
    """Text that Slack shows as written: ``&``, ``<`` and ``>`` are its markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackError(Exception):
    """Slack did not accept the message."""


async def post_message(
    client: httpx.AsyncClient,
    url: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    *,
    time_limit: float = DEFAULT_TIMEOUT,
) -> None:
    """``text`` is the notification's plain text (and the whole message without
    ``blocks``); ``blocks`` are Block Kit blocks for a richer layout. ``time_limit`` bounds
    each phase (connect, send, wait for the answer) in seconds."""
    body: dict[str, Any] = {"text": text[:TEXT_LIMIT]}
    if blocks:
        body["blocks"] = blocks
    try:
        response = await client.post(url, json=body, timeout=time_limit)
    except httpx.HTTPError as exc:
        raise SlackError(f"Slack could not be reached: {type(exc).__name__}") from None
    if response.status_code != 200:
        reason = response.text[:200].strip() or "no reason given"
        raise SlackError(f"Slack refused the message: HTTP {response.status_code} {reason}")
