"""``error.detected``: a 500 or a dead job is published once per fingerprint per window (a
storm sends one event, the rest are counted into the next), from a transaction of its own,
and never at the cost of the 500 answer when the database is down or hanging."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from keel.config import Settings
from keel.events.models import EventRecord
from keel.kit import clock
from keel.kit.broadcast import MemoryBroadcast
from keel.kit.cache import MemoryCache
from keel.kit.db import Database, create_engine
from keel.kit.deps import Resources
from keel.kit.jobs import enqueue
from keel.kit.ratelimit import MemoryLimiter
from keel.kit.routing import api_router
from keel.observability import rules
from keel.worker import build_worker
from tests.helpers.app import client_for

failing = api_router(prefix="/error-probe")


@failing.get("/boom/{item_id}")
async def boom(item_id: int) -> None:
    raise RuntimeError(f"probe failed on item {item_id} for ada@example.com token=abc123")


@failing.get("/other")
async def other() -> None:
    raise KeyError("another fault")


#: Windows are aligned to the clock: one this long never ends during a test run.
LONG_WINDOW = 10**9


def alert_settings(settings: Settings, **alerts: Any) -> Settings:
    return settings.model_copy(
        update={
            "alerts": settings.alerts.model_copy(update={"window_seconds": LONG_WINDOW, **alerts})
        }
    )


async def error_events(database: Database, since: datetime) -> list[EventRecord]:
    """This test's events (``since`` it began: committed tests share the database)."""
    async with database.transaction() as session:
        stmt = select(EventRecord).where(
            EventRecord.name == "error.detected", EventRecord.occurred_at >= since
        )
        rows = list((await session.scalars(stmt.order_by(EventRecord.occurred_at))).all())
        session.expunge_all()
        return rows


@pytest.fixture
async def committed_client(
    settings: Settings, committed_resources: Resources
) -> AsyncIterator[httpx.AsyncClient]:
    """Real commits: the failed request's transaction and the report's are separate."""
    probe_settings = alert_settings(settings)
    resources = Resources(
        probe_settings,
        committed_resources.database,
        committed_resources.cache,
        committed_resources.broadcast,
    )
    async with client_for(probe_settings, resources, failing, raise_app_exceptions=False) as c:
        yield c


# ---- fingerprint and message (pure) --------------------------------------------------------


def _raise_in_a(message: str) -> BaseException:
    try:
        raise ValueError(message)
    except ValueError as exc:
        return exc


def _raise_in_b(message: str) -> BaseException:
    try:
        raise ValueError(message)
    except ValueError as exc:
        return exc


def _key_error_in_a() -> BaseException:
    try:
        raise KeyError("x")
    except KeyError as exc:
        return exc


def test_fingerprint__same_place_other_message__same() -> None:
    assert rules.fingerprint(_raise_in_a("order 1")) == rules.fingerprint(_raise_in_a("order 2"))


def test_fingerprint__other_function_or_type__differs() -> None:
    assert rules.fingerprint(_raise_in_a("x")) != rules.fingerprint(_raise_in_b("x"))
    assert rules.fingerprint(_key_error_in_a()) != rules.fingerprint(_raise_in_a("x"))


def test_error_message__secrets_and_emails__redacted_and_cut() -> None:
    message = rules.error_message(RuntimeError("token=abc123 for ada@example.com " + "x" * 400))
    assert "abc123" not in message
    assert "ada@example.com" not in message
    assert len(message) == rules.MESSAGE_LIMIT


@pytest.mark.parametrize(
    ("seen", "day", "reported_seen", "reported_day", "suppressed"),
    [
        (1, 100, None, None, 0),  # the first occurrence ever
        (5, 100, 1, 100, 3),  # 2nd, 3rd, 4th held back since the event of the 1st
        (6, 100, 5, 100, 0),  # the very next occurrence after an event
        (4, 101, 9, 100, 3),  # past midnight: the day's earlier three
        (7, 100, None, None, 6),  # no previous event known (cache lost): the day's earlier
    ],
)
def test_suppressed_since__counts__occurrences_between_events(
    seen: int, day: int, reported_seen: int | None, reported_day: int | None, suppressed: int
) -> None:
    assert (
        rules.suppressed_since(
            seen=seen, day=day, reported_seen=reported_seen, reported_day=reported_day
        )
        == suppressed
    )


# ---- requests -------------------------------------------------------------------------------


async def test_unhandled_error__storm_of_50_requests__one_event_and_50_answers(
    committed_client: httpx.AsyncClient, committed_resources: Resources
) -> None:
    started = clock.now()
    # When 50 requests fail at once in the same place
    answers = await asyncio.gather(
        *(committed_client.get(f"/api/v1/error-probe/boom/{n}") for n in range(50))
    )
    # Then every one got its 500 problem, and one error.detected was published
    assert [a.status_code for a in answers] == [500] * 50
    assert {a.json()["code"] for a in answers} == {"internal_error"}
    [event] = await error_events(committed_resources.database, started)
    payload = event.payload
    assert event.organization_id is None
    assert payload["source"] == "request"
    assert payload["where"] == "GET /api/v1/error-probe/boom/{item_id}"
    assert payload["exception_type"] == "RuntimeError"
    assert payload["request_id"] in {a.headers["X-Request-ID"] for a in answers}
    assert "ada@example.com" not in payload["message"]
    assert "abc123" not in payload["message"]


async def test_unhandled_error__two_faults__one_event_each(
    committed_client: httpx.AsyncClient, committed_resources: Resources
) -> None:
    started = clock.now()
    # When two different faults happen, each twice
    for path in ("boom/1", "other", "boom/2", "other"):
        await committed_client.get(f"/api/v1/error-probe/{path}")
    # Then each fingerprint was published once
    events = await error_events(committed_resources.database, started)
    assert sorted(e.payload["exception_type"] for e in events) == ["KeyError", "RuntimeError"]
    assert len({e.payload["fingerprint"] for e in events}) == 2


class FrozenClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_unhandled_error__next_window__event_counts_the_suppressed(
    settings: Settings, committed_resources: Resources
) -> None:
    started = clock.now()
    # Given a 60 s window on a clock the test moves
    frozen = FrozenClock()
    probe_settings = alert_settings(settings, window_seconds=60)
    resources = Resources(
        probe_settings,
        committed_resources.database,
        committed_resources.cache,
        committed_resources.broadcast,
        limiter=MemoryLimiter(clock=frozen),
    )
    async with client_for(probe_settings, resources, failing, raise_app_exceptions=False) as c:
        # When the fault happens 4 times in one window, then once in the next
        for n in range(4):
            await c.get(f"/api/v1/error-probe/boom/{n}")
        frozen.now += 60
        await c.get("/api/v1/error-probe/boom/9")
    # Then two events: the second reports the 3 that were held back, and when the fault was
    # first reported
    first, second = await error_events(committed_resources.database, started)
    assert (first.payload["suppressed"], second.payload["suppressed"]) == (0, 3)
    assert second.payload["first_seen"] == first.payload["first_seen"] == first.payload["last_seen"]
    assert second.payload["last_seen"] > first.payload["last_seen"]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A server that accepts connections and never says a word (a hung database)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        yield silent.getsockname()[1]


@pytest.mark.parametrize("outage", ["refused", "hanging"])
async def test_unhandled_error__database_down__500_still_answers_promptly(
    settings: Settings,
    outage: str,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a database that refuses connections, or accepts them and never answers
    port = _closed_port() if outage == "refused" else request.getfixturevalue("silent_port")
    down = alert_settings(
        settings,
        report_timeout_seconds=0.5,
    ).model_copy(
        update={
            "database": settings.database.model_copy(
                update={
                    "url": f"postgresql+asyncpg://keel@127.0.0.1:{port}/keel",
                    "pool_timeout": 10,
                }
            )
        }
    )
    resources = Resources(down, Database(create_engine(down)), MemoryCache(), MemoryBroadcast())
    async with client_for(down, resources, failing, raise_app_exceptions=False) as c:
        # When a request fails
        started = time.perf_counter()
        answer = await c.get("/api/v1/error-probe/boom/1")
        elapsed = time.perf_counter() - started
    await resources.database.dispose()
    # Then its 500 answered, within the report's time limit, and the failure to report is logged
    assert answer.status_code == 500
    assert answer.json()["code"] == "internal_error"
    # Bounded by the report's 0.5 s timeout, not the database's 10 s pool timeout (about 1 s on
    # an idle machine; the margin is for a loaded CI box running browsers beside it)
    assert elapsed < 5.0
    logged = [r.msg["event"] for r in caplog.records if isinstance(r.msg, dict)]
    assert "errors.report_failed" in logged


# ---- jobs -----------------------------------------------------------------------------------


async def run_failing_job(
    resources: Resources, *, error: str, max_attempts: int, payload: dict[str, Any]
) -> None:
    """Keel's worker runs once, over one ``billing.charge`` job raising ``error``."""

    async def explode(*_args: Any) -> None:
        raise ConnectionError(error)

    worker = build_worker(resources, handlers={"billing.charge": explode})
    async with resources.database.transaction() as session:
        await enqueue(session, "billing.charge", payload, max_attempts=max_attempts)
    await worker.run_once()


async def test_dead_job__worker_built_by_keel__publishes_error_detected(
    settings: Settings, resources: Resources
) -> None:
    started = clock.now()
    # Given Keel's worker with a job that always fails, allowed a single attempt
    # When it runs and dies
    alerting = Resources(
        alert_settings(settings), resources.database, resources.cache, resources.broadcast
    )
    await run_failing_job(
        alerting, error="the payment provider hung up", max_attempts=1, payload={"invoice": 7}
    )
    # Then error.detected names the job and the fault, and none of the payload
    [event] = await error_events(resources.database, started)
    assert event.payload["source"] == "job"
    assert event.payload["where"] == "billing.charge"
    assert event.payload["exception_type"] == "ConnectionError"
    assert event.payload["message"] == "the payment provider hung up"
    assert event.payload["request_id"] is None


async def test_retried_job__not_dead_yet__publishes_nothing(
    settings: Settings, resources: Resources
) -> None:
    started = clock.now()
    # Given a failing job with attempts left
    # When its first attempt fails; Then it will be retried, and nobody is alerted yet
    await run_failing_job(resources, error="flaky", max_attempts=3, payload={})
    assert await error_events(resources.database, started) == []
