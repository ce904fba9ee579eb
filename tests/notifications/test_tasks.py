"""The ``notifications.send_email`` job, run by the real job runner against a real SMTP
server: queued in a transaction, sent only when the worker runs it."""

from __future__ import annotations

import dataclasses
import email
import uuid
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from keel.config import Settings
from keel.kit.deps import Resources
from keel.kit.jobs import JobContext
from keel.kit.jobs.models import DONE, QUEUED, Job
from keel.kit.jobs.runner import Runner
from keel.notifications import service, tasks
from tests.notifications.mailserver import HOST, Inbox, free_port, smtp_server, with_smtp

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

SENDER = "Keel <no-reply@keel.example.com>"


def mail_runner(resources: Resources, settings: Settings) -> Runner:
    return Runner(
        dataclasses.replace(resources, settings=settings),
        {tasks.SEND_EMAIL_JOB: tasks.send_email},
    )


async def queue_test_email(resources: Resources, *, to: str = "alice@example.com") -> uuid.UUID:
    async with resources.database.transaction() as session:
        return await service.send_email(
            session,
            to=to,
            template="system_test",
            context={"requested_by": "<ops>"},
            reply_to="support@example.com",
        )


async def job_row(resources: Resources, job_id: uuid.UUID) -> tuple[str, str | None]:
    async with resources.database.transaction() as session:
        row = (
            await session.execute(select(Job.status, Job.last_error).where(Job.id == job_id))
        ).one()
    return row.status, row.last_error


def smtp_settings(settings: Settings, inbox: Inbox, *, user: str = "mailer") -> Settings:
    return with_smtp(
        settings, url=f"smtp://{user}:pw%21@{HOST}:{inbox.port}", sender=SENDER, timeout=5.0
    )


async def test_send_email_job__run_by_worker__delivers_text_and_html(
    settings: Settings, resources: Resources
) -> None:
    with smtp_server(credentials=("mailer", "pw!")) as inbox:
        # Given a queued message: nothing has reached the server yet
        job_id = await queue_test_email(resources)
        assert inbox.messages == []
        # When the worker runs due jobs
        ran = await mail_runner(resources, smtp_settings(settings, inbox)).run_once()
    # Then one message arrived, logged in, with both parts and the right headers
    assert ran == 1
    assert inbox.logins == ["mailer"]
    [message] = inbox.messages
    assert message["From"] == SENDER
    assert message["To"] == "alice@example.com"
    assert message["Reply-To"] == "support@example.com"
    assert message["Subject"] == "Keel can send mail"
    assert message["Message-ID"] == f"<{job_id}@keel.example.com>"
    assert message["Date"] is not None
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert "sent by <ops>" in text.get_content()
    assert "sent by &lt;ops&gt;" in html.get_content()
    assert (await job_row(resources, job_id))[0] == DONE


async def test_send_email_job__handler_called_directly__sends_once(
    settings: Settings, resources: Resources
) -> None:
    with smtp_server() as inbox:
        job_id = await queue_test_email(resources, to="bob@example.com")
        configured = dataclasses.replace(
            resources, settings=with_smtp(settings, url=f"smtp://{HOST}:{inbox.port}")
        )
        async with resources.database.transaction() as session:
            job = await session.get(Job, job_id)
            assert job is not None
            await tasks.send_email(
                session, job.payload, JobContext(job_id, job.name, 1, configured)
            )
    assert [m["To"] for m in inbox.messages] == ["bob@example.com"]


async def test_send_email_job__smtp_down__retries_without_leaking_password(
    settings: Settings, resources: Resources
) -> None:
    # Given a server that is not listening and a password in the URL
    down = with_smtp(settings, url=f"smtp://mailer:hunter2-secret@{HOST}:{free_port()}")
    job_id = await queue_test_email(resources)
    # When the worker runs the job
    await mail_runner(resources, down).run_once()
    # Then it is queued again for a retry, and the recorded error names the server only
    status, error = await job_row(resources, job_id)
    assert status == QUEUED
    assert error is not None and "MailServerError" in error
    assert "hunter2-secret" not in error


async def test_send_email_job__no_smtp_url__writes_eml_to_data_dir(
    settings: Settings, resources: Resources, tmp_path: Path
) -> None:
    # Given no SMTP server configured
    local = with_smtp(settings, url=None, sender=SENDER).model_copy(update={"data_dir": tmp_path})
    job_id = await queue_test_email(resources)
    # When the worker runs the job
    with capture_logs() as logs:
        await mail_runner(resources, local).run_once()
    # Then the message is a file, and the log names it without the body
    [path] = (tmp_path / "mail").glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert message["Subject"] == "Keel can send mail"
    assert message["Message-ID"] == f"<{job_id}@keel.example.com>"
    [written] = [entry for entry in logs if entry["event"] == "mail.written"]
    assert written["to"] == "alice@example.com"
    assert written["subject"] == "Keel can send mail"
    assert "It arrived, so mail works" not in repr(logs)
