"""The users domain's reactions, run by the real job runner: the welcome email and the day
1/3/7 onboarding sequence on ``user.created`` (through a real SMTP server), the sign-up
count, and the superadmin alert on ``error.detected`` (email and a real local Slack hook)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.config import Settings
from keel.events import service as events_service
from keel.events.models import EventRecord
from keel.events.schemas import EventEnvelope
from keel.events.tasks import Subscriptions
from keel.kit import clock
from keel.kit.deps import Resources
from keel.kit.jobs import JobContext
from keel.kit.jobs.models import Job
from keel.kit.jobs.runner import Runner
from keel.kit.logging import configure_logging
from keel.notifications import service as notifications_service
from keel.observability.events import ErrorDetected
from keel.subscriptions import SUBSCRIPTIONS
from keel.users import service as users_service
from keel.users import tasks
from keel.users.models import DISABLED, User
from keel.worker import job_handlers
from tests.helpers.jobs import FakeClock
from tests.helpers.tenancy import PASSWORD, make_user
from tests.kit.slackhook import SlackHook, slack_hook_server
from tests.notifications.mailserver import HOST, Inbox, smtp_server, with_smtp

SEND_EMAIL = notifications_service.SEND_EMAIL_JOB


# ---- builders -------------------------------------------------------------------------------


@pytest.fixture
def slack_hook() -> Iterator[SlackHook]:
    with slack_hook_server() as hook:
        yield hook


def configured(
    settings: Settings, inbox: Inbox | None = None, **groups: dict[str, Any]
) -> Settings:
    """The test settings with a real SMTP server and overridden setting groups."""
    if inbox is not None:
        settings = with_smtp(settings, url=f"smtp://{HOST}:{inbox.port}", timeout=5.0)
    update = {name: getattr(settings, name).model_copy(update=v) for name, v in groups.items()}
    return settings.model_copy(update=update)


async def drain(
    resources: Resources,
    settings: Settings,
    subscriptions: Subscriptions,
    *,
    now: Callable[[], Any] = clock.now,
) -> None:
    """Run due jobs until none is left (events fan out into handler jobs, then mail jobs)."""
    runner = Runner(
        dataclasses.replace(resources, settings=settings), job_handlers(subscriptions), now=now
    )
    for _ in range(20):
        if not await runner.run_once():
            return
    pytest.fail("jobs kept coming after 20 rounds")


async def sign_up(resources: Resources, *, name: str = "Ada Lovelace") -> User:
    """Through the users service, as registration does: publishes ``user.created``."""
    async with resources.database.transaction() as session:
        return await users_service.create(
            session,
            Actor.system(),
            email=f"ada-{uuid.uuid4().hex[:8]}@example.com",
            name=name,
            password=PASSWORD,
        )


async def envelope_of(resources: Resources, name: str) -> EventEnvelope:
    async with resources.database.transaction() as session:
        stmt = select(EventRecord.id).where(EventRecord.name == name)
        event_id = (await session.scalars(stmt.order_by(EventRecord.occurred_at.desc()))).first()
        assert event_id is not None
        envelope = await events_service.get_envelope(session, event_id)
    assert envelope is not None
    return envelope


def context_for(resources: Resources, settings: Settings | None = None) -> JobContext:
    chosen = resources if settings is None else dataclasses.replace(resources, settings=settings)
    return JobContext(uuid.uuid4(), "events.handle", 1, chosen)


async def jobs_named(session: AsyncSession, name: str) -> list[Job]:
    return list((await session.scalars(select(Job).where(Job.name == name))).all())


# ---- wiring ---------------------------------------------------------------------------------


def test_subscriptions__sign_up_and_errors__handled_by_users_tasks() -> None:
    assert {
        tasks.send_welcome,
        tasks.count_signup,
        tasks.schedule_onboarding,
    } <= set(SUBSCRIPTIONS["user.created"])
    assert {tasks.email_superadmins, tasks.post_error_to_slack} <= set(
        SUBSCRIPTIONS["error.detected"]
    )
    assert job_handlers()[tasks.ONBOARDING_EMAIL_JOB] is tasks.send_onboarding_email


# ---- welcome --------------------------------------------------------------------------------


async def test_user_created__worker_runs__welcome_mail_with_unsubscribe_link(
    settings: Settings, resources: Resources
) -> None:
    with smtp_server() as inbox:
        # Given a new account
        user = await sign_up(resources)
        # When the worker handles user.created
        await drain(resources, configured(settings, inbox), {"user.created": [tasks.send_welcome]})
    # Then one welcome arrived, pointing at the app and the API docs, with a way out
    [message] = inbox.messages
    assert message["To"] == user.email
    assert message["Subject"] == "Welcome to Keel, Ada Lovelace"
    text = Inbox.text_of(message)
    assert f"{settings.http.public_url}/app" in text
    assert f"{settings.http.public_url}/api/docs" in text
    assert "Unsubscribe from these emails:" in text
    assert message["List-Unsubscribe"]


async def test_user_created__delivered_twice__one_welcome_queued(
    settings: Settings, resources: Resources, db: AsyncSession
) -> None:
    # Given user.created, handled once already
    await sign_up(resources)
    envelope = await envelope_of(resources, "user.created")
    await tasks.send_welcome(db, envelope, context_for(resources))
    # When it is delivered again
    await tasks.send_welcome(db, envelope, context_for(resources))
    # Then still one welcome is queued
    assert len(await jobs_named(db, SEND_EMAIL)) == 1


async def test_user_created__welcome_turned_off__no_mail(
    settings: Settings, resources: Resources, db: AsyncSession
) -> None:
    await sign_up(resources)
    off = configured(settings, onboarding={"welcome_email": False})
    await tasks.send_welcome(
        db, await envelope_of(resources, "user.created"), context_for(resources, off)
    )
    assert await jobs_named(db, SEND_EMAIL) == []


async def test_user_created__count_signup__counter_and_log(
    settings: Settings, resources: Resources, db: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    configure_logging(settings)  # as the worker does: structlog through stdlib logging
    # Given a sign-up
    user = await sign_up(resources)
    before = REGISTRY.get_sample_value("keel_users_signups_total") or 0.0
    # When analytics handles it
    await tasks.count_signup(
        db, await envelope_of(resources, "user.created"), context_for(resources)
    )
    # Then the counter moved and the analytics line names the user
    assert REGISTRY.get_sample_value("keel_users_signups_total") == before + 1
    entries = [r.msg for r in caplog.records if isinstance(r.msg, dict)]
    assert {"event": "analytics.signup", "user_id": str(user.id)}.items() <= entries[-1].items()


# ---- the day 1/3/7 sequence -----------------------------------------------------------------


async def test_user_created__schedule_onboarding__one_job_per_day_even_if_delivered_twice(
    resources: Resources, db: AsyncSession
) -> None:
    # Given user.created
    user = await sign_up(resources)
    envelope = await envelope_of(resources, "user.created")
    # When the sequence is scheduled, twice (a second delivery)
    for _ in range(2):
        await tasks.schedule_onboarding(db, envelope, context_for(resources))
    # Then one job per day, due that many days after sign-up
    scheduled = await jobs_named(db, tasks.ONBOARDING_EMAIL_JOB)
    assert sorted((j.payload["day"], j.run_at) for j in scheduled) == [
        (day, envelope.occurred_at + timedelta(days=day)) for day in (1, 3, 7)
    ]
    assert {j.payload["user_id"] for j in scheduled} == {str(user.id)}


async def test_onboarding_sequence__a_day_later__day1_mail_only(
    settings: Settings, resources: Resources
) -> None:
    with smtp_server() as inbox:
        # Given a sign-up whose sequence is scheduled
        await sign_up(resources, name="Grace Hopper")
        subscriptions = {"user.created": [tasks.schedule_onboarding]}
        mail = configured(settings, inbox)
        await drain(resources, mail, subscriptions)
        assert inbox.messages == []
        # When a day and a minute have passed
        later = FakeClock()
        later.advance(days=1, minutes=1)
        await drain(resources, mail, subscriptions, now=later)
    # Then the day 1 email went out, and the day 3 and 7 ones wait
    [message] = inbox.messages
    assert message["Subject"] == "Day 1: bring your team into Keel"
    assert "Hello Grace Hopper" in Inbox.text_of(message)


async def _mark(session: AsyncSession, user: User, why: str) -> None:
    match why:
        case "disabled":
            user.status = DISABLED
        case "erasure requested":
            user.erasure_requested_at = clock.now()
        case "onboarding completed":
            await users_service.update_onboarding(session, Actor.system(), user, step=None)
        case "unsubscribed":
            await notifications_service.update_preferences(
                session, Actor.system(), user.id, {"onboarding": False}
            )
    await session.flush()


@pytest.mark.parametrize(
    ("why", "sent"),
    [
        ("nothing", True),
        ("disabled", False),
        ("erasure requested", False),
        ("onboarding completed", False),
        ("unsubscribed", False),
    ],
)
async def test_onboarding_email__user_state__sent_or_skipped(
    resources: Resources, db: AsyncSession, why: str, sent: bool
) -> None:
    # Given a user in some state when their day 3 email comes due
    user = await make_user(db, name="Ada")
    await _mark(db, user, why)
    # When the job runs
    payload = {"user_id": str(user.id), "day": 3}
    await tasks.send_onboarding_email(db, payload, context_for(resources))
    # Then the email is queued only for an active user with onboarding still open
    queued = await jobs_named(db, SEND_EMAIL)
    assert [(j.payload["template"], j.payload["category"]) for j in queued] == (
        [("onboarding_day3", "onboarding")] if sent else []
    )


async def test_onboarding_email__account_gone__skipped(
    resources: Resources, db: AsyncSession
) -> None:
    payload = {"user_id": str(uuid.uuid4()), "day": 1}
    await tasks.send_onboarding_email(db, payload, context_for(resources))
    assert await jobs_named(db, SEND_EMAIL) == []


# ---- error.detected -> superadmins ----------------------------------------------------------


def an_error(**overrides: Any) -> ErrorDetected:
    values: dict[str, Any] = {
        "fingerprint": "0123456789abcdef",
        "exception_type": "RuntimeError",
        "message": "the <widget> & the gadget failed",
        "source": "request",
        "where": "GET /api/v1/widgets",
        "request_id": "req-77",
        "suppressed": 4,
        "first_seen": clock.now() - timedelta(minutes=5),
        "last_seen": clock.now(),
    }
    return ErrorDetected(**{**values, **overrides})


async def publish(resources: Resources, event: ErrorDetected) -> None:
    async with resources.database.transaction() as session:
        await events_service.publish(session, event)


async def test_error_detected__superadmins__each_active_one_emailed(
    settings: Settings, resources: Resources, db: AsyncSession
) -> None:
    # Given two active superadmins, a disabled one and an ordinary user
    owners = [await make_user(db, name=f"Owner {n}", is_superadmin=True) for n in (1, 2)]
    await make_user(db, is_superadmin=True, status=DISABLED)
    await make_user(db)
    with smtp_server() as inbox:
        # When an error is detected and the worker runs
        await publish(resources, an_error())
        subscriptions = {"error.detected": [tasks.email_superadmins]}
        await drain(resources, configured(settings, inbox), subscriptions)
    # Then each active superadmin got the alert, with what to search the logs for
    assert sorted(m["To"] for m in inbox.messages) == sorted(o.email for o in owners)
    message = inbox.messages[0]
    assert message["Subject"] == "[test] RuntimeError in GET /api/v1/widgets"
    text = Inbox.text_of(message)
    assert "req-77" in text and "0123456789abcdef" in text
    assert "Also 4 more time(s)" in text
    assert message["List-Unsubscribe"] is None  # essential: no way to opt out of outages


async def test_error_detected__emails_turned_off__nobody_mailed(
    settings: Settings, resources: Resources, db: AsyncSession
) -> None:
    await make_user(db, is_superadmin=True)
    await publish(resources, an_error())
    off = configured(settings, alerts={"email_superadmins": False})
    await tasks.email_superadmins(
        db, await envelope_of(resources, "error.detected"), context_for(resources, off)
    )
    assert await jobs_named(db, SEND_EMAIL) == []


async def test_error_detected__slack_configured__posted_escaped(
    settings: Settings, resources: Resources, db: AsyncSession, slack_hook: SlackHook
) -> None:
    # Given Slack configured
    with_slack = configured(settings, alerts={"slack_webhook_url": SecretStr(slack_hook.url)})
    await publish(resources, an_error())
    # When the Slack handler runs
    await tasks.post_error_to_slack(
        db, await envelope_of(resources, "error.detected"), context_for(resources, with_slack)
    )
    # Then the channel got one message naming the fault, Slack markup escaped
    [post] = slack_hook.posts
    assert "*RuntimeError*" in post["text"]
    assert "`GET /api/v1/widgets`" in post["text"]
    assert "the &lt;widget&gt; &amp; the gadget failed" in post["text"]
    assert "+4 more" in post["text"]


async def test_error_detected__slack_not_configured__nothing_posted(
    settings: Settings, resources: Resources, db: AsyncSession, slack_hook: SlackHook
) -> None:
    await publish(resources, an_error())
    await tasks.post_error_to_slack(
        db, await envelope_of(resources, "error.detected"), context_for(resources)
    )
    assert slack_hook.posts == []
