"""Email rendering and message building: pure, so table-driven and without a server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
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
    "plan_limit_warning": {
        "name": "Ada",
        "organization": "Acme",
        "limit_label": "projects",
        "limit": 10,
        "used": "8",
        "percent": "80",
        "plan": "Free",
        "upgrade_url": "http://127.0.0.1:8000/app/orgs/x/plan",
    },
    "plan_limit_reached": {
        "name": "Ada",
        "organization": "Acme",
        "limit_label": "projects",
        "limit": 10,
        "used": "10",
        "percent": "100",
        "plan": "Free",
        "upgrade_url": "http://127.0.0.1:8000/app/orgs/x/plan",
    },
    # Samples of the templates other domains send (onboarding, alerts, webhooks).
    "welcome": {"name": "Ada", "app_url": "http://127.0.0.1:8000/app", "api_docs_url": "/api/docs"},
    "onboarding_day1": {
        "name": "Ada",
        "app_url": "http://127.0.0.1:8000/app",
        "onboarding_url": "http://127.0.0.1:8000/app/onboarding",
    },
    "onboarding_day3": {"name": "Ada", "app_url": "http://127.0.0.1:8000/app"},
    "onboarding_day7": {
        "name": "Ada",
        "api_docs_url": "/api/docs",
        "onboarding_url": "http://127.0.0.1:8000/app/onboarding",
    },
    "error_alert": {
        "name": "Ada",
        "environment": "production",
        "exception_type": "ValueError",
        "fingerprint": "abc123",
        "first_seen": "2026-11-24 18:00 UTC",
        "last_seen": "2026-11-24 18:05 UTC",
        "message": "boom",
        "public_url": "http://127.0.0.1:8000",
        "request_id": None,
        "source": "request",
        "suppressed": 2,
        "where": "GET /api/v1/orgs",
    },
    "webhook_endpoint_disabled": {
        "name": "Ada",
        "kind": "webhook",
        "endpoint_id": "01900000-0000-7000-8000-000000000001",
        "reason": "gone",
        "host": "hooks.example.com",
        "since": "2026-11-20",
    },
    "security_alert": {
        "name": "Ada",
        "member": None,
        "organization": None,
        "summary": "A refresh token of your account was used a second time.",
        "ip": "203.0.113.7",
        "when": "2026-11-24 18:00 UTC",
        "reset_url": "http://127.0.0.1:8000/password/forgot",
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


SENT_AT = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def built_message(**overrides: Any) -> EmailMessage:
    """A small rendered email built into a message, with ``build_message``'s keyword
    arguments overridden by ``overrides``."""
    rendered = rules.RenderedEmail(subject="Subj", text="plain text\n", html="<p>html</p>")
    arguments: dict[str, Any] = {
        "sender": "Keel <no-reply@example.com>",
        "to": "alice@example.com",
        "reply_to": None,
        "message_id": "<id@example.com>",
        "sent_at": SENT_AT,
    }
    return rules.build_message(rendered, **(arguments | overrides))


@pytest.mark.parametrize("reply_to", [None, "support@example.com"])
def test_build_message__rendered_email__is_multipart_alternative(reply_to: str | None) -> None:
    # Given a rendered email; When built into a message
    message = built_message(reply_to=reply_to)
    # Then headers and both parts are there, text first
    assert message["Subject"] == "Subj"
    assert message["From"] == "Keel <no-reply@example.com>"
    assert message["To"] == "alice@example.com"
    assert message["Reply-To"] == reply_to
    assert message["Message-ID"] == "<id@example.com>"
    assert message["Date"].datetime == SENT_AT
    assert message.get_content_type() == "multipart/alternative"
    parts = [(p.get_content_type(), p.get_content()) for p in message.iter_parts()]
    assert parts == [("text/plain", "plain text\n"), ("text/html", "<p>html</p>\n")]


# ---- brand, unsubscribe, live stream ----------------------------------------------------------

ACME = rules.Brand(
    product_name="Acme Cloud",
    logo_text="ACME",
    primary_color="#ff5500",
    text_color="#112233",
    background_color="#fafafa",
    support_email="help@acme.example",
)


def test_render__brand_given__name_colours_and_support_in_both_parts() -> None:
    # When a message is rendered with another brand
    rendered = rules.render("system_test", {}, brand=ACME)
    # Then the product name is in the subject and both parts, the colours and wordmark in HTML
    assert rendered.subject == "Acme Cloud can send mail"
    assert "Sent by Acme Cloud." in rendered.text
    assert "help@acme.example" in rendered.text
    for fragment in ("background:#fafafa", "color:#112233", 'color:#ff5500;">ACME</p>'):
        assert fragment in rendered.html
    assert "Keel" not in rendered.html + rendered.text


@pytest.mark.parametrize(("url", "shown"), [(None, False), ("https://k.test/u?token=t", True)])
def test_render__unsubscribe_url__link_in_footer_only_when_given(
    url: str | None, shown: bool
) -> None:
    rendered = rules.render("system_test", {}, unsubscribe_url=url)
    assert ("Unsubscribe" in rendered.html) is shown
    assert ("Unsubscribe from these emails: https://k.test/u?token=t" in rendered.text) is shown


def test_render__button_colour__follows_brand() -> None:
    context = SAMPLE_CONTEXTS["plan_limit_reached"]
    rendered = rules.render("plan_limit_reached", context, brand=ACME)
    assert "background:#ff5500;color:#ffffff" in rendered.html
    assert "#2563eb" not in rendered.html


KEY = rules.unsubscribe_key("a-secret-long-enough-for-the-tests-0123456789")
USER = uuid.UUID("01900000-0000-7000-8000-0000000000aa")


def test_unsubscribe_token__round_trip__gives_user_and_category() -> None:
    token = rules.unsubscribe_token(USER, "usage", key=KEY)
    assert rules.read_unsubscribe_token(token, key=KEY) == (USER, "usage")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-token",
        rules.unsubscribe_token(USER, "usage", key=KEY)[:-2] + "xx",
        rules.unsubscribe_token(USER, "usage", key=rules.unsubscribe_key("another secret")),
        rules.unsubscribe_token(USER, "security", key=KEY),
    ],
    ids=["empty", "garbage", "altered", "old-secret", "essential-category"],
)
def test_read_unsubscribe_token__not_ours__raises(token: str) -> None:
    with pytest.raises(rules.UnsubscribeTokenInvalid):
        rules.read_unsubscribe_token(token, key=KEY)


def test_build_message__unsubscribe_url__rfc8058_headers() -> None:
    # Given an email with an unsubscribe link; When built into a message
    message = built_message(
        unsubscribe_url="https://k.test/api/v1/notifications/unsubscribe?token=t"
    )
    # Then it carries the one-click unsubscribe headers
    assert (
        message["List-Unsubscribe"] == "<https://k.test/api/v1/notifications/unsubscribe?token=t>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize(
    ("event", "data", "event_id", "expected"),
    [
        (
            "unread_count",
            '{"unread_count": 2}',
            None,
            'event: unread_count\ndata: {"unread_count": 2}\n\n',
        ),
        ("notification", "{}", "n1", "id: n1\nevent: notification\ndata: {}\n\n"),
    ],
)
def test_sse__message__server_sent_events_framing(
    event: str, data: str, event_id: str | None, expected: str
) -> None:
    assert rules.sse(event, data, event_id=event_id) == expected
