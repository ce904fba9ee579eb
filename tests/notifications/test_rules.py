"""Email rendering and message building: pure, so table-driven and without a server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from jinja2 import ChoiceLoader, DictLoader, Environment, PackageLoader

from keel.notifications import rules
from keel.notifications.errors import InvalidEmailContext, UnknownEmailTemplate

#: One context per shipped template. A new template without a sample fails
#: ``test_available_templates__every_template__has_a_sample``.
SAMPLE_CONTEXTS: dict[str, dict[str, Any]] = {
    "system_test": {"requested_by": "ops@example.com"},
    "verify_email": {"name": "Ada", "link": "https://keel.test/verify-email?token=t", "hours": 24},
    "reset_password": {
        "name": "Ada",
        "link": "https://keel.test/reset-password?token=t",
        "minutes": 60,
    },
    "email_change": {
        "name": "Ada",
        "new_email": "ada@new.example",
        "link": "https://keel.test/confirm-email?token=t",
        "hours": 24,
    },
    "account_locked": {
        "name": "Ada",
        "minutes": 15,
        "ip": "203.0.113.7",
        "reset_url": "http://127.0.0.1:8000/password/forgot",
        "unlock_url": "http://127.0.0.1:8000/unlock?token=abc",
    },
    "new_sign_in": {
        "name": "Ada",
        "device": "Firefox on Linux",
        "ip": "203.0.113.7",
        "when": "2026-11-24 18:00 UTC",
        "reset_url": "http://127.0.0.1:8000/password/forgot",
    },
    "invitation": {
        "organization": "Acme",
        "inviter": "Ada",
        "role": "member",
        "link": "http://127.0.0.1:8000/invitations/accept?token=t",
        "days": 7,
    },
}


def environment_with(templates: dict[str, str]) -> Environment:
    """Keel's own templates (the layout) plus ``templates``, as a later issue would add them."""
    package = PackageLoader("keel.notifications", "templates/email")
    return rules.make_environment(ChoiceLoader([DictLoader(templates), package]))


GREETING = environment_with(
    {
        "greeting.txt": '{% extends "layout.txt" %}{% block subject %}Hi {{ name }}{% endblock %}'
        "{% block content %}Hello {{ name }}{% endblock %}",
        "greeting.html": '{% extends "layout.html" %}'
        "{% block content %}<p>Hello {{ name }}</p>{% endblock %}",
        "nosubject.txt": '{% extends "layout.txt" %}{% block content %}x{% endblock %}',
        "nosubject.html": '{% extends "layout.html" %}{% block content %}x{% endblock %}',
        "textonly.txt": '{% extends "layout.txt" %}{% block subject %}x{% endblock %}',
    }
)


def test_available_templates__every_template__has_a_sample() -> None:
    assert rules.available_templates() == set(SAMPLE_CONTEXTS)


@pytest.mark.parametrize(("template", "context"), SAMPLE_CONTEXTS.items())
def test_render__each_shipped_template__gives_subject_text_and_html(
    template: str, context: dict[str, Any]
) -> None:
    rendered = rules.render(template, context)
    assert rendered.subject and "\n" not in rendered.subject
    assert rendered.text.strip() and "<" not in rendered.text
    assert rendered.html.lstrip().startswith("<!DOCTYPE html>")
    assert f"<title>{rendered.subject}</title>" in rendered.html


@pytest.mark.parametrize(
    ("context", "sender_text"),
    [
        ({}, "sent by an operator"),
        ({"requested_by": "ops@example.com"}, "sent by ops@example.com"),
    ],
)
def test_render__system_test__says_who_asked(context: dict[str, Any], sender_text: str) -> None:
    rendered = rules.render(rules.SYSTEM_TEST, context)
    assert rendered.subject == "Keel can send mail"
    assert sender_text in rendered.text
    assert sender_text in rendered.html
    assert rendered.text.rstrip().endswith("Sent by Keel.")


def test_render__markup_in_context__is_escaped_in_html_only() -> None:
    # Given a context value that is HTML
    context = {"requested_by": '<script>alert("x")</script>'}
    # When rendered
    rendered = rules.render(rules.SYSTEM_TEST, context)
    # Then the HTML part shows it as text, and the text part keeps it verbatim
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in rendered.html
    assert '<script>alert("x")</script>' in rendered.text


@pytest.mark.parametrize("template", ["nope", "layout", "../layout", ""])
def test_render__unknown_template__raises_unknown_email_template(template: str) -> None:
    with pytest.raises(UnknownEmailTemplate, match="system_test"):
        rules.render(template, {})


def test_render__template_with_only_a_text_part__is_unknown() -> None:
    with pytest.raises(UnknownEmailTemplate):
        rules.render("textonly", {}, environment=GREETING)


def test_render__template_without_subject_block__raises_unknown_email_template() -> None:
    with pytest.raises(UnknownEmailTemplate, match="block subject"):
        rules.render("nosubject", {}, environment=GREETING)


def test_render__missing_variable__raises_invalid_context_not_blank() -> None:
    with pytest.raises(InvalidEmailContext, match="name"):
        rules.render("greeting", {}, environment=GREETING)


def test_render__newline_in_subject_value__collapses_to_one_line() -> None:
    rendered = rules.render(
        "greeting", {"name": "Ann\r\nBcc: evil@example.com"}, environment=GREETING
    )
    assert rendered.subject == "Hi Ann Bcc: evil@example.com"


def test_render__added_template__needs_no_registration() -> None:
    rendered = rules.render("greeting", {"name": "<Ann>"}, environment=GREETING)
    assert rendered.subject == "Hi <Ann>"
    assert "<p>Hello &lt;Ann&gt;</p>" in rendered.html
    assert rendered.text.startswith("Hello <Ann>")


@pytest.mark.parametrize(
    ("sender", "domain"),
    [
        ("Keel <no-reply@example.com>", "example.com"),
        ("no-reply@mail.example.org", "mail.example.org"),
        ("not an address", "keel.invalid"),
    ],
)
def test_message_id__sender__uses_job_id_and_sender_domain(sender: str, domain: str) -> None:
    job_id = uuid.UUID("01900000-0000-7000-8000-000000000001")
    assert rules.message_id(job_id, sender=sender) == f"<{job_id}@{domain}>"


@pytest.mark.parametrize("reply_to", [None, "support@example.com"])
def test_build_message__rendered_email__is_multipart_alternative(reply_to: str | None) -> None:
    # Given a rendered email
    rendered = rules.RenderedEmail(subject="Subj", text="plain text\n", html="<p>html</p>")
    sent_at = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    # When built into a message
    message = rules.build_message(
        rendered,
        sender="Keel <no-reply@example.com>",
        to="alice@example.com",
        reply_to=reply_to,
        message_id="<id@example.com>",
        sent_at=sent_at,
    )
    # Then headers and both parts are there, text first
    assert message["Subject"] == "Subj"
    assert message["From"] == "Keel <no-reply@example.com>"
    assert message["To"] == "alice@example.com"
    assert message["Reply-To"] == reply_to
    assert message["Message-ID"] == "<id@example.com>"
    assert message["Date"].datetime == sent_at
    assert message.get_content_type() == "multipart/alternative"
    parts = [(p.get_content_type(), p.get_content()) for p in message.iter_parts()]
    assert parts == [("text/plain", "plain text\n"), ("text/html", "<p>html</p>\n")]
