"""``send_email`` checks what it can in the caller's transaction and only queues a job;
preferences decide which non-essential mail is queued; the inbox belongs to one user."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit.models import AuditLog
from keel.config import Settings
from keel.events.models import EventRecord
from keel.kit import clock
from keel.kit.db import Database
from keel.kit.jobs.models import QUEUED, Job
from keel.kit.schemas import PageParams
from keel.notifications import rules, service, tasks
from keel.notifications.errors import (
    InvalidEmailContext,
    InvalidRecipient,
    InvalidUnsubscribeLink,
    NotificationNotFound,
    UnknownEmailTemplate,
)
from keel.notifications.models import Notification
from tests.helpers.tenancy import make_user


async def mail_jobs(session: AsyncSession) -> list[Job]:
    stmt = (
        select(Job)
        .where(Job.name == tasks.SEND_EMAIL_JOB)
        .execution_options(populate_existing=True)
    )
    return list((await session.scalars(stmt)).all())


async def test_send_email__valid_request__queues_one_json_job(db: AsyncSession) -> None:
    # When a message is asked for
    job_id = await service.send_email(
        db,
        to="alice@example.com",
        template="system_test",
        context={"requested_by": "ops@example.com"},
        reply_to="support@example.com",
    )
    # Then exactly one queued job carries everything the worker needs
    [job] = await mail_jobs(db)
    assert job.id == job_id
    assert job.status == QUEUED
    assert job.payload == {
        "to": "alice@example.com",
        "template": "system_test",
        "context": {"requested_by": "ops@example.com"},
        "reply_to": "support@example.com",
    }


async def test_send_email__rolled_back_transaction__queues_nothing(database: Database) -> None:
    with pytest.raises(RuntimeError):
        async with database.transaction() as session:
            await service.send_email(
                session, to="a@example.com", template="system_test", context={}
            )
            raise RuntimeError("the change that wanted the mail failed")
    async with database.transaction() as session:
        assert await mail_jobs(session) == []


async def test_send_email__mixed_case_domain__stores_normalized_address(db: AsyncSession) -> None:
    await service.send_email(db, to="Alice@EXAMPLE.com", template="system_test", context={})
    [job] = await mail_jobs(db)
    assert job.payload["to"] == "Alice@example.com"


@pytest.mark.parametrize(
    "address",
    [
        "",
        "alice",
        "alice@",
        "alice@@example.com",
        "alice@example",
        "alice@example.com\r\nBcc: mallory@example.com",
        "Alice <alice@example.com>",
    ],
)
async def test_send_email__invalid_recipient__raises_422_and_queues_nothing(
    db: AsyncSession, address: str
) -> None:
    with pytest.raises(InvalidRecipient) as caught:
        await service.send_email(db, to=address, template="system_test", context={})
    assert caught.value.status == 422
    assert await mail_jobs(db) == []


async def test_send_email__invalid_reply_to__raises_invalid_recipient(db: AsyncSession) -> None:
    with pytest.raises(InvalidRecipient):
        await service.send_email(
            db, to="a@example.com", template="system_test", context={}, reply_to="nope"
        )
    assert await mail_jobs(db) == []


async def test_send_email__unknown_template__raises_and_queues_nothing(db: AsyncSession) -> None:
    with pytest.raises(UnknownEmailTemplate) as caught:
        await service.send_email(db, to="a@example.com", template="welcome_bonus", context={})
    assert caught.value.status == 500
    assert "templates/email/welcome_bonus.txt" in caught.value.detail
    assert await mail_jobs(db) == []


@pytest.mark.parametrize(
    "context",
    [{"when": datetime(2025, 1, 1, tzinfo=UTC)}, {"items": {1, 2}}, {"obj": object()}],
)
async def test_send_email__context_not_json__raises_invalid_context(
    db: AsyncSession, context: dict[str, Any]
) -> None:
    with pytest.raises(InvalidEmailContext, match="plain JSON"):
        await service.send_email(db, to="a@example.com", template="system_test", context=context)
    assert await mail_jobs(db) == []


async def test_send_test_email__operator_check__queues_system_test(db: AsyncSession) -> None:
    await service.send_test_email(db, to="ops@example.com", requested_by="keel doctor")
    [job] = await mail_jobs(db)
    assert job.payload["template"] == "system_test"
    assert job.payload["context"] == {"requested_by": "keel doctor"}


# ---- categories and preferences ---------------------------------------------------------------


async def test_send_email__user_unsubscribed_from_category__queues_nothing(
    db: AsyncSession,
) -> None:
    # Given a user who turned "usage" mail off
    user = await make_user(db)
    await service.update_preferences(db, Actor.system(), user.id, {"usage": False})
    # When usage mail and essential mail are asked for
    skipped = await service.send_email(
        db, to=user.email, template="system_test", context={}, category="usage", user_id=user.id
    )
    sent = await service.send_email(db, to=user.email, template="system_test", context={})
    # Then only the essential one is queued
    assert skipped is None
    assert [job.id for job in await mail_jobs(db)] == [sent]


@pytest.mark.parametrize(
    ("category", "with_user", "message"),
    [("marketing", True, "unknown email category"), ("usage", False, "user_id")],
)
async def test_send_email__category_misused__raises_value_error(
    db: AsyncSession, category: str, with_user: bool, message: str
) -> None:
    user = await make_user(db)
    with pytest.raises(ValueError, match=message):
        await service.send_email(
            db,
            to=user.email,
            template="system_test",
            context={},
            category=category,
            user_id=user.id if with_user else None,
        )


async def test_send_email__same_dedupe_key_twice__queued_once(db: AsyncSession) -> None:
    first = await service.send_email(
        db, to="a@example.com", template="system_test", context={}, dedupe_key="event-1:a"
    )
    second = await service.send_email(
        db, to="a@example.com", template="system_test", context={}, dedupe_key="event-1:a"
    )
    assert first is not None and second is None
    assert len(await mail_jobs(db)) == 1


async def test_update_preferences__category_turned_off_and_on__audited_and_announced(
    db: AsyncSession,
) -> None:
    # Given a user
    user = await make_user(db)
    actor = Actor(kind="user", id=str(user.id))
    # When they turn "product" off, then on again, then send the same state once more
    off = await service.update_preferences(db, actor, user.id, {"product": False})
    on = await service.update_preferences(db, actor, user.id, {"product": True})
    await service.update_preferences(db, actor, user.id, {"product": True})
    # Then the reads say so, and only the two real changes were audited and published
    assert {p.category: p.subscribed for p in off.categories}["product"] is False
    assert all(p.subscribed for p in on.categories)
    audited = await db.scalars(
        select(AuditLog.changes).where(
            AuditLog.action == "email_preferences.updated", AuditLog.target_id == str(user.id)
        )
    )
    assert list(audited) == [{"subscribed": {"product": False}}, {"subscribed": {"product": True}}]
    published = await db.scalars(
        select(EventRecord.payload).where(EventRecord.name == "email_preferences.updated")
    )
    assert [p["subscribed"] for p in published] == [{"product": False}, {"product": True}]


async def test_unsubscribe__altered_token__invalid_link_and_nothing_changes(
    db: AsyncSession, settings: Settings
) -> None:
    user = await make_user(db)
    token = rules.unsubscribe_token(user.id, "usage", key=service.unsubscribe_key(settings))
    with pytest.raises(InvalidUnsubscribeLink) as caught:
        await service.unsubscribe(db, Actor.system(), token[:-3] + "abc", settings=settings)
    assert caught.value.status == 400
    assert all(p.subscribed for p in (await service.read_preferences(db, user.id)).categories)


# ---- the in-app inbox -------------------------------------------------------------------------


async def notice(db: AsyncSession, user_id: uuid.UUID, **overrides: Any) -> uuid.UUID:
    fields: dict[str, Any] = {"kind": "test.notice", "title": "Hello", "body": "Body"}
    notification_id = await service.notify(db, user_id=user_id, **{**fields, **overrides})
    assert notification_id is not None
    return notification_id


async def test_notify__same_dedupe_key__one_notification(db: AsyncSession) -> None:
    user = await make_user(db)
    first = await service.notify(
        db, user_id=user.id, kind="k", title="t", body="b", dedupe_key="event-1"
    )
    again = await service.notify(
        db, user_id=user.id, kind="k", title="t", body="b", dedupe_key="event-1"
    )
    assert first is not None and again is None
    assert [n.id for n in (await service.page(db, user.id, PageParams())).items] == [first]


async def test_page__unread_filter_and_count__newest_first(db: AsyncSession) -> None:
    # Given three notifications, the middle one read
    user = await make_user(db)
    ids = [await notice(db, user.id, title=f"N{n}") for n in range(3)]
    await service.mark_read(db, user.id, ids[1])
    # When listed, all and unread only
    everything = await service.page(db, user.id, PageParams())
    unread = await service.page(db, user.id, PageParams(), unread_only=True)
    # Then newest first, and the unread count beside both
    assert [n.id for n in everything.items] == ids[::-1]
    assert [n.id for n in unread.items] == [ids[2], ids[0]]
    assert everything.unread_count == unread.unread_count == 2


async def test_page__limit__cursor_walks_the_inbox(db: AsyncSession) -> None:
    user = await make_user(db)
    ids = [await notice(db, user.id) for _ in range(3)]
    first = await service.page(db, user.id, PageParams(limit=2))
    rest = await service.page(db, user.id, PageParams(limit=2, cursor=first.next_cursor))
    assert [n.id for n in first.items + rest.items] == ids[::-1]
    assert rest.next_cursor is None


async def test_mark_read__another_users_notification__not_found_and_unread(
    db: AsyncSession,
) -> None:
    owner, other = await make_user(db), await make_user(db)
    notification_id = await notice(db, owner.id)
    with pytest.raises(NotificationNotFound):
        await service.mark_read(db, other.id, notification_id)
    assert await service.unread_count(db, owner.id) == 1


async def test_mark_all_read__two_users__only_the_callers_inbox(db: AsyncSession) -> None:
    me, other = await make_user(db), await make_user(db)
    for user in (me, me, other):
        await notice(db, user.id)
    assert await service.mark_all_read(db, me.id) == 2
    assert await service.unread_count(db, me.id) == 0
    assert await service.unread_count(db, other.id) == 1


async def test_purge__older_than_retention__deleted_newer_kept(db: AsyncSession) -> None:
    user = await make_user(db)
    old = await notice(db, user.id)
    kept = await notice(db, user.id)
    await db.execute(
        update(Notification)
        .where(Notification.id == old)
        .values(created_at=clock.now() - timedelta(days=91))
    )
    assert await service.purge(db, retention_days=90) == 1
    assert [n.id for n in (await service.page(db, user.id, PageParams())).items] == [kept]
