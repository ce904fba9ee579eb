"""Email rendering: template name and JSON context in, subject + text + HTML out.

Templates live in ``templates/email``. A message ``<name>`` is two files that extend the
shared layout: ``<name>.txt`` (which also holds ``{% block subject %}``) and ``<name>.html``.
Adding a message is adding those two files; nothing is registered. HTML is autoescaped, text
and subject are not (they are never read as markup), and a variable the context lacks is an
error, never a blank in a sent email. Templates are read from the package once and cached,
so rendering depends on its arguments alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import Any
from uuid import UUID

from jinja2 import (
    BaseLoader,
    Environment,
    PackageLoader,
    StrictUndefined,
    Template,
    UndefinedError,
    select_autoescape,
)

from keel.notifications.errors import InvalidEmailContext, UnknownEmailTemplate

LAYOUT = "layout"
SYSTEM_TEST = "system_test"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def make_environment(loader: BaseLoader) -> Environment:
    return Environment(
        loader=loader,
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@lru_cache(maxsize=1)
def default_environment() -> Environment:
    return make_environment(PackageLoader("keel.notifications", "templates/email"))


@lru_cache(maxsize=8)
def available_templates(environment: Environment | None = None) -> frozenset[str]:
    files = (environment or default_environment()).list_templates(extensions=["txt", "html"])
    stems = {name.rsplit(".", 1)[0] for name in files}
    complete = {stem for stem in stems if f"{stem}.txt" in files and f"{stem}.html" in files}
    return frozenset(complete - {LAYOUT})


def render(
    template: str, context: Mapping[str, Any], *, environment: Environment | None = None
) -> RenderedEmail:
    """``environment`` defaults to Keel's templates; tests pass their own."""
    environment = environment or default_environment()
    _require_template(template, environment)
    text_template = environment.get_template(f"{template}.txt")
    try:
        subject = _subject(template, text_template, context)
        text = text_template.render(context)
        html = environment.get_template(f"{template}.html").render({**context, "subject": subject})
    except UndefinedError as exc:
        raise InvalidEmailContext(f"email template {template!r}: {exc.message}") from exc
    return RenderedEmail(subject=subject, text=text.strip() + "\n", html=html)


def _require_template(template: str, environment: Environment) -> None:
    known = available_templates(environment)
    if template not in known:
        raise UnknownEmailTemplate(
            f"no email template {template!r}; add templates/email/{template}.txt and "
            f"{template}.html, or use one of: {', '.join(sorted(known))}"
        )


def _subject(name: str, template: Template, context: Mapping[str, Any]) -> str:
    block = template.blocks.get("subject")
    if block is None:
        raise UnknownEmailTemplate(f"templates/email/{name}.txt has no {{% block subject %}}")
    # Collapsed to one line: a newline in a header would end it early.
    return " ".join("".join(block(template.new_context(dict(context)))).split())


def message_id(job_id: UUID, *, sender: str) -> str:
    """Derived from the job, so a retried delivery carries the same Message-ID and the
    receiving side can recognise the duplicate."""
    _, at, domain = parseaddr(sender)[1].rpartition("@")
    return f"<{job_id}@{domain if at and domain else 'keel.invalid'}>"


def build_message(
    email: RenderedEmail,
    *,
    sender: str,
    to: str,
    reply_to: str | None,
    message_id: str,
    sent_at: datetime,
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = email.subject
    message["From"] = sender
    message["To"] = to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = message_id
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message
