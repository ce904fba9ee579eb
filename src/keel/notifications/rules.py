"""Email rendering: template name and JSON context in, subject + text + HTML out.

Templates live in ``templates/email``. A message ``<name>`` is two files that extend the
shared layout: ``<name>.txt`` (which also holds ``{% block subject %}``) and ``<name>.html``.
Adding a message is adding those two files; nothing is registered. HTML is autoescaped, text
and subject are not (they are never read as markup), and a variable the context lacks is an
error, never a blank in a sent email. Templates are read from the package once and cached,
so rendering depends on its arguments alone.

Every message is rendered with ``brand`` (product name, wordmark, colours, support address:
:class:`Brand`, from ``KEEL_NOTIFICATIONS__*``) and ``unsubscribe_url`` (None for essential
mail) in its context; callers never pass them.

Categories: mail with a category is non-essential; its recipient may turn the category off.
Its unsubscribe link carries a signed token (:func:`unsubscribe_token`) that never expires and
is voided only by changing the signing secret; the message also carries the RFC 8058
``List-Unsubscribe`` / ``List-Unsubscribe-Post`` headers so mail clients offer one click.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import Any
from uuid import UUID

import jwt
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

#: Non-essential mail a user may turn off, with what each holds (the preferences page).
CATEGORIES: dict[str, str] = {
    "onboarding": "Tips in your first days: getting started, inviting your team",
    "product": "News about the product: new features and changes",
    "usage": "Your organization's plan limits: 80 % and 100 % of a limit reached",
}
ONE_CLICK = "List-Unsubscribe=One-Click"
_UNSUBSCRIBE_AUDIENCE = "keel:unsubscribe"


@dataclass(frozen=True)
class Brand:
    """How every email looks; the defaults are Keel's own."""

    product_name: str = "Keel"
    logo_text: str = "Keel"
    primary_color: str = "#2563eb"
    text_color: str = "#1f2933"
    background_color: str = "#f4f5f7"
    support_email: str | None = None


DEFAULT_BRAND = Brand()


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
    template: str,
    context: Mapping[str, Any],
    *,
    brand: Brand = DEFAULT_BRAND,
    unsubscribe_url: str | None = None,
    environment: Environment | None = None,
) -> RenderedEmail:
    """``environment`` defaults to Keel's templates; tests pass their own."""
    environment = environment or default_environment()
    _require_template(template, environment)
    text_template = environment.get_template(f"{template}.txt")
    context = {**context, "brand": asdict(brand), "unsubscribe_url": unsubscribe_url}
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
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = email.subject
    message["From"] = sender
    message["To"] = to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = message_id
    if unsubscribe_url:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = ONE_CLICK
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


# ---- unsubscribe links ------------------------------------------------------------------------


class UnsubscribeTokenInvalid(ValueError):
    """Not a token this deployment signed (altered, truncated, or signed with an old secret)."""


def unsubscribe_key(secret: str) -> bytes:
    """A key of its own, so an unsubscribe token can never pass for another signed value."""
    return hmac.new(secret.encode(), b"keel-unsubscribe-v1", hashlib.sha256).digest()


def unsubscribe_token(user_id: UUID, category: str, *, key: bytes) -> str:
    """No expiry on purpose: an unsubscribe link must work for as long as the mail is kept."""
    claims = {"sub": str(user_id), "cat": category, "aud": _UNSUBSCRIBE_AUDIENCE}
    return jwt.encode(claims, key, algorithm="HS256")


def read_unsubscribe_token(token: str, *, key: bytes) -> tuple[UUID, str]:
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["HS256"],
            audience=_UNSUBSCRIBE_AUDIENCE,
            options={"require": ["sub", "cat", "aud"]},
        )
        user_id, category = UUID(str(claims["sub"])), str(claims["cat"])
    except (jwt.PyJWTError, ValueError) as exc:
        raise UnsubscribeTokenInvalid(str(exc)) from None
    if category not in CATEGORIES:
        raise UnsubscribeTokenInvalid(f"unknown category {category!r}")
    return user_id, category


def unsubscribe_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/api/v1/notifications/unsubscribe?token={token}"


# ---- in-app notifications ---------------------------------------------------------------------


def user_channel(user_id: UUID) -> str:
    """The broadcast channel of one user's live notification stream."""
    return f"notifications:user:{user_id}"


def sse(event: str, data: str, *, event_id: str | None = None) -> str:
    """One Server-Sent Events message (``data`` is one line of JSON)."""
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {data}\n\n"


SSE_HEARTBEAT = ": keep-alive\n\n"
