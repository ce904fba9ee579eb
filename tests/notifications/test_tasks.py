"""The ``notifications.send_email`` job, run by the real job runner against a real SMTP
server: queued in a transaction, sent only when the worker runs it."""

from __future__ import annotations

import dataclasses
import email
import uuid
from email.policy import default as default_policy
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from keel.config import Settings
from keel.kit.deps import Resources
from keel.kit.jobs import JobContext
from keel.kit.jobs.models import DONE, QUEUED, Job
from keel.kit.jobs.runner import Runner
from keel.notifications import rules, service, tasks
from tests.helpers.tenancy import make_user
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
        job_id = await service.send_email(
            session,
            to=to,
            template="system_test",
            context={"requested_by": "<ops>"},
            reply_to="support@example.com",
        )
    assert job_id is not None
    return job_id


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


# ---- branded, non-essential mail end to end ---------------------------------------------------

BRANDED = {
    "product_name": "Acme Cloud",
    "primary_color": "#ff5500",
    "text_color": "#112233",
    "background_color": "#fafafa",
}


def branded(settings: Settings, inbox: Inbox) -> Settings:
    configured = smtp_settings(settings, inbox)
    brand = configured.notifications.model_copy(update=BRANDED)
    return configured.model_copy(update={"notifications": brand})


async def queue_usage_mail(
    resources: Resources, user_id: uuid.UUID, email: str
) -> uuid.UUID | None:
    async with resources.database.transaction() as session:
        return await service.send_email(
            session,
            to=email,
            template="system_test",
            context={},
            category="usage",
            user_id=user_id,
        )


async def test_usage_mail__sent_followed_link__branded_and_next_one_not_sent(
    settings: Settings, resources: Resources, client: httpx.AsyncClient
) -> None:
    async with resources.database.transaction() as session:
        user = await make_user(session)
    with smtp_server(credentials=("mailer", "pw!")) as inbox:
        runner = mail_runner(resources, branded(settings, inbox))
        # Given a usage email delivered through SMTP
        assert await queue_usage_mail(resources, user.id, user.email) is not None
        assert await runner.run_once() == 1
        [message] = inbox.messages
        # Then it carries the brand in both parts and the RFC 8058 headers
        text, html = message.get_body(("plain",)), message.get_body(("html",))
        assert text is not None and html is not None
        assert message["Subject"] == "Acme Cloud can send mail"
        assert "Sent by Acme Cloud." in text.get_content()
        for colour in ("#ff5500", "#112233", "#fafafa"):
            assert colour in html.get_content()
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = message["List-Unsubscribe"].strip("<>")
        assert f"Unsubscribe from these emails: {link}" in text.get_content()
        # When the link is followed through the API
        url = urlsplit(link)
        answer = await client.get(f"{url.path}?{url.query}")
        # Then the category is off, and the next usage email is not even queued
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"category": "usage", "subscribed": False}
        assert await queue_usage_mail(resources, user.id, user.email) is None
        await runner.run_once()
    assert len(inbox.messages) == 1


async def test_usage_mail__unsubscribed_after_queueing__job_sends_nothing(
    settings: Settings, resources: Resources, client: httpx.AsyncClient
) -> None:
    # Given a usage email queued, then the user unsubscribing by one-click POST
    async with resources.database.transaction() as session:
        user = await make_user(session)
    job_id = await queue_usage_mail(resources, user.id, user.email)
    assert job_id is not None
    token = rules.unsubscribe_token(user.id, "usage", key=service.unsubscribe_key(settings))
    answer = await client.post(
        "/api/v1/notifications/unsubscribe",
        params={"token": token},
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200, answer.text
    # When the worker runs the job
    with smtp_server(credentials=("mailer", "pw!")) as inbox:
        await mail_runner(resources, smtp_settings(settings, inbox)).run_once()
    # Then the job is done without sending
    assert inbox.messages == []
    assert (await job_row(resources, job_id))[0] == DONE
