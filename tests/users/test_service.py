"""The users service on a real database: policy, uniqueness, audit and events."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit.models import AuditLog
from keel.events.models import EventRecord
from keel.users import service
from keel.users.errors import EmailTaken, IncorrectPassword, WeakPassword
from keel.users.models import ACTIVE, DISABLED, User

PASSWORD = "correct horse battery staple"
EMOJI_PASSWORD = ("🦊 quiet river " * 10)[:100]
ACTOR = Actor.system("test")


def full_width(text: str) -> str:
    """The same letters as typed on a CJK keyboard (U+FF01..U+FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


async def new_user(db: AsyncSession, **overrides: Any) -> User:
    values: dict[str, Any] = {"email": "ada@example.com", "name": "Ada Lovelace"}
    values["password"] = PASSWORD
    return await service.create(db, ACTOR, **{**values, **overrides})


async def audit_actions(db: AsyncSession, user: User) -> list[str]:
    stmt = select(AuditLog.action).where(AuditLog.target_id == str(user.id))
    return list((await db.scalars(stmt.order_by(AuditLog.id))).all())


async def event_names(db: AsyncSession) -> list[str]:
    return list((await db.scalars(select(EventRecord.name).order_by(EventRecord.id))).all())


async def test_create__valid__normalized_audited_and_published(db: AsyncSession) -> None:
    # When a user is created with a mixed-case address
    user = await new_user(db, email="Ada@Example.COM", name="  Ada Lovelace ")
    # Then the address is normalized, the account active and unverified
    assert (user.email, user.name, user.status) == ("ada@example.com", "Ada Lovelace", ACTIVE)
    assert user.email_verified_at is None
    assert await audit_actions(db, user) == ["user.created"]
    [event] = await db.scalars(select(EventRecord).where(EventRecord.name == "user.created"))
    assert event.payload["user_id"] == str(user.id)


@pytest.mark.parametrize("variant", ["ada@example.com", "ADA@example.com", "Ada@EXAMPLE.com "])
async def test_create__email_case_variant__email_taken(db: AsyncSession, variant: str) -> None:
    await new_user(db)
    with pytest.raises(EmailTaken) as caught:
        await new_user(db, email=variant)
    assert caught.value.status == 409 and caught.value.code == "email_taken"


async def test_create__weak_password__every_violation_listed(db: AsyncSession) -> None:
    with pytest.raises(WeakPassword) as caught:
        await new_user(db, password="ada")
    problem = caught.value.to_problem()
    assert problem["status"] == 422 and problem["code"] == "validation_error"
    assert {e["field"] for e in problem["errors"]} == {"body.password"}
    assert len(problem["errors"]) == 3  # too short, contains the email, contains the name


async def test_authenticate__100_char_emoji_password__works_and_90th_char_matters(
    db: AsyncSession,
) -> None:
    # Given a user whose password is 100 characters with emoji
    await new_user(db, password=EMOJI_PASSWORD)
    changed = (
        EMOJI_PASSWORD[:89] + ("X" if EMOJI_PASSWORD[89] != "X" else "Y") + EMOJI_PASSWORD[90:]
    )
    # Then the exact password logs in, in any email case, and one changed character does not
    assert await service.authenticate(db, email="ADA@example.com", password=EMOJI_PASSWORD)
    assert await service.authenticate(db, email="ada@example.com", password=changed) is None


async def test_authenticate__full_width_spelling__same_password(db: AsyncSession) -> None:
    await new_user(db, password="trembling planet")
    user = await service.authenticate(
        db, email="ada@example.com", password=full_width("trembling planet")
    )
    assert user is not None


async def test_update_profile__name_and_attributes__diff_audited(db: AsyncSession) -> None:
    user = await new_user(db)
    await service.update_profile(db, ACTOR, user, name="Ada King", attributes={"dept": "math"})
    entry = await db.scalar(select(AuditLog).where(AuditLog.action == "user.updated"))
    assert entry is not None and entry.changes == {
        "attributes": {"before": {}, "after": {"dept": "math"}},
        "name": {"before": "Ada Lovelace", "after": "Ada King"},
    }
    assert "user.updated" in await event_names(db)


async def test_update_profile__nothing_changed__nothing_recorded(db: AsyncSession) -> None:
    user = await new_user(db)
    await service.update_profile(db, ACTOR, user, name="Ada Lovelace")
    assert await audit_actions(db, user) == ["user.created"]


async def test_change_password__wrong_current__incorrect_password(db: AsyncSession) -> None:
    user = await new_user(db)
    with pytest.raises(IncorrectPassword):
        await service.change_password(
            db, ACTOR, user, current_password="wrong", new_password="another long phrase"
        )


async def test_change_password__weak_new__field_new_password(db: AsyncSession) -> None:
    user = await new_user(db)
    with pytest.raises(WeakPassword) as caught:
        await service.change_password(
            db, ACTOR, user, current_password=PASSWORD, new_password="password123"
        )
    assert caught.value.to_problem()["errors"][0]["field"] == "body.new_password"


async def test_change_password__valid__new_one_works_and_audited(db: AsyncSession) -> None:
    user = await new_user(db)
    await service.change_password(
        db, ACTOR, user, current_password=PASSWORD, new_password="another long phrase"
    )
    assert await service.authenticate(db, email=user.email, password="another long phrase")
    assert await service.authenticate(db, email=user.email, password=PASSWORD) is None
    assert "user.password_changed" in await audit_actions(db, user)
    assert "user.password_changed" in await event_names(db)


async def test_set_password__valid__audited_as_reset(db: AsyncSession) -> None:
    user = await new_user(db)
    await service.set_password(db, ACTOR, user, new_password="another long phrase")
    assert await service.authenticate(db, email=user.email, password="another long phrase")
    assert "user.password_reset" in await audit_actions(db, user)


async def test_mark_email_verified__twice__recorded_once(db: AsyncSession) -> None:
    user = await new_user(db)
    await service.mark_email_verified(db, ACTOR, user)
    first = user.email_verified_at
    await service.mark_email_verified(db, ACTOR, user)
    assert first is not None and user.email_verified_at == first
    assert (await audit_actions(db, user)).count("user.email_verified") == 1


async def test_change_email__free_address__applied_verified(db: AsyncSession) -> None:
    user = await new_user(db)
    await service.change_email(db, ACTOR, user, new_email="Ada@New.Example")
    assert user.email == "ada@new.example" and user.email_verified_at is not None
    assert "user.email_changed" in await audit_actions(db, user)


async def test_change_email__address_of_another__email_taken(db: AsyncSession) -> None:
    user = await new_user(db)
    await new_user(db, email="grace@example.com", name="Grace Hopper")
    with pytest.raises(EmailTaken):
        await service.change_email(db, ACTOR, user, new_email="GRACE@example.com")


async def test_request_erasure__right_password__disabled_and_recorded(db: AsyncSession) -> None:
    user = await new_user(db)
    await service.request_erasure(db, ACTOR, user, password=PASSWORD)
    assert user.status == DISABLED and user.erasure_requested_at is not None
    assert "user.erasure_requested" in await audit_actions(db, user)
    assert await service.authenticate(db, email=user.email, password=PASSWORD) is None


async def test_request_erasure__wrong_password__refused_unchanged(db: AsyncSession) -> None:
    user = await new_user(db)
    with pytest.raises(IncorrectPassword):
        await service.request_erasure(db, ACTOR, user, password="nope")
    assert user.status == ACTIVE and user.erasure_requested_at is None
