"""The Slack adapter against a real HTTP server on 127.0.0.1 that answers as Slack's incoming
webhooks do: 200 ``ok``, or an error status with the reason in the body."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from keel.kit import slack
from tests.kit.slackhook import SlackHook, slack_hook_server


@pytest.fixture
def slack_hook() -> Iterator[SlackHook]:
    with slack_hook_server() as hook:
        yield hook


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def test_post_message__slack_answers_ok__text_and_blocks_posted_as_json(
    slack_hook: SlackHook, http: httpx.AsyncClient
) -> None:
    # Given a webhook that accepts
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*boom*"}}]
    # When a message is posted
    await slack.post_message(http, slack_hook.url, "boom in GET /x", blocks)
    # Then Slack received exactly that JSON
    assert slack_hook.posts == [{"text": "boom in GET /x", "blocks": blocks}]
    assert slack_hook.content_types == ["application/json"]


async def test_post_message__long_text__cut_to_slack_limit(
    slack_hook: SlackHook, http: httpx.AsyncClient
) -> None:
    # When a message longer than Slack accepts is posted
    await slack.post_message(http, slack_hook.url, "x" * (slack.TEXT_LIMIT + 500))
    # Then it is cut, not refused, and carries no empty blocks
    [post] = slack_hook.posts
    assert post == {"text": "x" * slack.TEXT_LIMIT}


async def test_post_message__revoked_webhook__slack_error_names_reason_not_url(
    slack_hook: SlackHook, http: httpx.AsyncClient
) -> None:
    # Given a webhook Slack revoked (404 no_service)
    slack_hook.status, slack_hook.reply = 404, b"no_service"
    # When a message is posted; Then the error says why, and never leaks the secret URL
    with pytest.raises(slack.SlackError) as caught:
        await slack.post_message(http, slack_hook.url, "hello")
    assert "404" in str(caught.value)
    assert "no_service" in str(caught.value)
    assert "secret-part" not in str(caught.value)


async def test_post_message__nothing_listening__slack_error(http: httpx.AsyncClient) -> None:
    # Given a port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # When a message is posted; Then it fails as a SlackError (a job retries it)
    with pytest.raises(slack.SlackError, match="could not be reached"):
        await slack.post_message(http, f"http://127.0.0.1:{port}/hook", "hello")


async def test_post_message__server_never_answers__gives_up_after_time_limit(
    http: httpx.AsyncClient,
) -> None:
    # Given a server that accepts connections and never answers
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
        started = time.perf_counter()
        # When a message is posted with a short time limit
        with pytest.raises(slack.SlackError, match="ReadTimeout"):
            await slack.post_message(http, url, "hello", time_limit=0.3)
    # Then it gave up about then, rather than hanging the job
    assert time.perf_counter() - started < 3.0


def test_escape__slack_markup__shown_as_written() -> None:
    assert slack.escape("a < b & c > d") == "a &lt; b &amp; c &gt; d"
