"""``send_email`` checks what it can in the caller's transaction and only queues a job."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.kit.db import Database
from keel.kit.jobs.models import QUEUED, Job
from keel.notifications import service, tasks
from keel.notifications.errors import InvalidEmailContext, InvalidRecipient, UnknownEmailTemplate


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
