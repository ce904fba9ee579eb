"""Builders shared by the auth tests: small async functions with keyword overrides."""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from keel.auth.models import AuthSession
from keel.config import Settings
from keel.kit import clock, security
from keel.kit.deps import Resources
from keel.kit.jobs.runner import Runner
from keel.users import rules
from keel.users.models import User
from keel.worker import job_handlers
from tests.notifications.mailserver import HOST, Inbox, with_smtp

#: Passes the default policy: long, not common, unrelated to the builders' names and emails.
PASSWORD = "correct horse battery staple"


async def make_user(
    db: AsyncSession,
    *,
    email: str = "ada@example.com",
    password: str = PASSWORD,
    name: str = "Ada Lovelace",
    verified: bool = True,
    **overrides: Any,
) -> User:
    """A user written straight to the table (no policy, audit or events), for tests that
    need one to exist rather than to test its creation."""
    user = User(
        email=rules.normalize_email(email),
        name=name,
        password_hash=await security.hash_password(rules.normalize_password(password)),
        email_verified_at=clock.now() if verified else None,
        **overrides,
    )
    db.add(user)
    await db.flush()
    return user


async def make_auth_session(db: AsyncSession, user_id: uuid.UUID, **overrides: Any) -> AuthSession:
    values: dict[str, Any] = {"expires_at": clock.now() + timedelta(days=30), "ip": "192.0.2.1"}
    auth_session = AuthSession(user_id=user_id, **{**values, **overrides})
    db.add(auth_session)
    await db.flush()
    return auth_session


async def deliver_mail(resources: Resources, settings: Settings, inbox: Inbox) -> None:
    """Run every due job (mail and event dispatch) with SMTP pointed at ``inbox``."""
    smtp_settings = with_smtp(settings, url=f"smtp://{HOST}:{inbox.port}", timeout=5.0)
    runner = Runner(dataclasses.replace(resources, settings=smtp_settings), job_handlers())
    while await runner.run_once():
        pass


_TOKEN = re.compile(r"[?&]token=([A-Za-z0-9_\-]+)")


def link_token(message: EmailMessage) -> str:
    """The token of the link in the text part of ``message``."""
    text = message.get_body(("plain",))
    assert text is not None
    match = _TOKEN.search(text.get_content())
    assert match is not None, text.get_content()
    return match.group(1)
