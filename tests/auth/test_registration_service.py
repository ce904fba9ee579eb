"""The registration service on a real database: tokens, silence on unknown accounts, email
change guards."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit.models import AuditLog
from keel.auth.errors import TokenInvalid
from keel.auth.models import ActionToken
from keel.auth.service import registration
from keel.config import Settings
from keel.events.models import EventRecord
from keel.kit import security
from keel.kit.deps import Resources
from keel.kit.jobs.models import Job
from keel.users.errors import EmailTaken, IncorrectPassword
from keel.users.models import DISABLED
from tests.auth.conftest import PASSWORD, make_user

ANONYMOUS = Actor(kind="system", id="anonymous", ip="198.51.100.9")


async def known_token(db: AsyncSession, row: ActionToken, value: str) -> str:
    row.token_hash = security.token_hash(value)
    await db.flush()
    return value


async def mail_jobs(db: AsyncSession) -> int:
    stmt = select(Job).where(Job.name == "notifications.send_email")
    return len(list(await db.scalars(stmt)))


async def test_send_verification__twice__only_newest_token_works(
    db: AsyncSession, settings: Settings
) -> None:
    # Given two verification emails sent in a row
    user = await make_user(db, verified=False)
    await registration.send_verification(db, user, settings=settings)
    await registration.send_verification(db, user, settings=settings)
    older, newer = list(await db.scalars(select(ActionToken).order_by(ActionToken.created_at)))
    old_token = await known_token(db, older, "older")
    new_token = await known_token(db, newer, "newer")
    # Then the older link is void and the newer one verifies
    with pytest.raises(TokenInvalid):
        await registration.verify_email(db, ANONYMOUS, token=old_token)
    verified = await registration.verify_email(db, ANONYMOUS, token=new_token)
    assert verified.email_verified_at is not None


async def test_verify_email__valid__audited_by_the_user_and_published(
    db: AsyncSession, settings: Settings
) -> None:
    user = await make_user(db, verified=False)
    await registration.send_verification(db, user, settings=settings)
    token = await known_token(db, (await db.scalars(select(ActionToken))).one(), "t")
    await registration.verify_email(db, ANONYMOUS, token=token)
    entry = await db.scalar(select(AuditLog).where(AuditLog.action == "user.email_verified"))
    assert entry is not None
    assert (entry.actor_kind, entry.actor_id, entry.ip) == ("user", str(user.id), "198.51.100.9")
    assert await db.scalar(select(EventRecord).where(EventRecord.name == "user.email_verified"))


async def test_verify_email__token_of_other_purpose__token_invalid(
    db: AsyncSession, settings: Settings, resources: Resources
) -> None:
    await make_user(db)
    await registration.forgot_password(
        db, ANONYMOUS, email="ada@example.com", settings=settings, limiter=resources.limiter
    )
    token = await known_token(db, (await db.scalars(select(ActionToken))).one(), "reset")
    with pytest.raises(TokenInvalid):
        await registration.verify_email(db, ANONYMOUS, token=token)


async def test_forgot__disabled_account__nothing_sent(
    db: AsyncSession, settings: Settings, resources: Resources
) -> None:
    await make_user(db, status=DISABLED)
    await registration.forgot_password(
        db, ANONYMOUS, email="ada@example.com", settings=settings, limiter=resources.limiter
    )
    assert await mail_jobs(db) == 0


async def test_forgot__per_account_limit__silent_after_first(
    db: AsyncSession, settings: Settings, resources: Resources
) -> None:
    await make_user(db)
    for email in ("ada@example.com", "ADA@example.com", "Ada@Example.com"):
        await registration.forgot_password(
            db, ANONYMOUS, email=email, settings=settings, limiter=resources.limiter
        )
    assert await mail_jobs(db) == 1


async def test_request_email_change__wrong_password__refused(
    db: AsyncSession, settings: Settings
) -> None:
    user = await make_user(db)
    with pytest.raises(IncorrectPassword):
        await registration.request_email_change(
            db, ANONYMOUS, user, password="wrong", new_email="a@new.example", settings=settings
        )


async def test_request_email_change__address_taken__email_taken(
    db: AsyncSession, settings: Settings
) -> None:
    user = await make_user(db)
    await make_user(db, email="grace@example.com", name="Grace Hopper")
    with pytest.raises(EmailTaken):
        await registration.request_email_change(
            db, ANONYMOUS, user, password=PASSWORD, new_email="Grace@example.com", settings=settings
        )
