"""audit_service.record: who did what to which target, from where, in the caller's
transaction, with secrets masked."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit import repository, rules
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.kit.db import Database


def user_actor(org: uuid.UUID | None = None) -> Actor:
    return Actor(
        kind="user",
        id="u-1",
        organization_id=org,
        ip="203.0.113.9",
        user_agent="pytest/1.0",
        request_id="req-1",
    )


async def test_record__full_entry__who_what_where(db: AsyncSession) -> None:
    org = uuid.uuid4()
    entry = await audit_service.record(
        db,
        user_actor(org),
        "project.renamed",
        target=Target("project", "p-1"),
        changes=rules.diff({"name": "Old"}, {"name": "New"}),
    )
    [stored] = await repository.list_for_target(db, target_type="project", target_id="p-1")
    assert stored.id == entry.id
    assert (stored.actor_kind, stored.actor_id, stored.action) == ("user", "u-1", "project.renamed")
    assert stored.organization_id == org
    assert stored.changes == {"name": {"before": "Old", "after": "New"}}
    assert (stored.ip, stored.user_agent, stored.request_id) == (
        "203.0.113.9",
        "pytest/1.0",
        "req-1",
    )
    assert stored.occurred_at.tzinfo is not None


async def test_record__organization__explicit_beats_target_beats_actor(db: AsyncSession) -> None:
    explicit, from_target, from_actor = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    actor = user_actor(from_actor)
    a = await audit_service.record(
        db, actor, "x.done", organization_id=explicit, target=Target("x", "1", from_target)
    )
    b = await audit_service.record(db, actor, "x.done", target=Target("x", "1", from_target))
    c = await audit_service.record(db, actor, "x.done")
    assert (a.organization_id, b.organization_id, c.organization_id) == (
        explicit,
        from_target,
        from_actor,
    )


async def test_record__secret_fields__masked(db: AsyncSession) -> None:
    entry = await audit_service.record(
        db,
        Actor.system(),
        "user.password_changed",
        changes={"password_hash": {"before": "$argon2id$a", "after": "$argon2id$b"}},
        context={"api_key": "keel_abc", "nested": [{"refresh_token": "t"}], "plan": "free"},
    )
    assert entry.changes == {"password_hash": rules.MASK}
    assert entry.context == {
        "api_key": rules.MASK,
        "nested": [{"refresh_token": rules.MASK}],
        "plan": "free",
    }


async def test_record__transaction_rolled_back__no_entry(database: Database) -> None:
    org = uuid.uuid4()
    with pytest.raises(RuntimeError):
        async with database.transaction() as session:
            await audit_service.record(session, user_actor(org), "thing.deleted")
            raise RuntimeError("delete failed")
    async with database.transaction() as session:
        assert await repository.list_for_organization(session, org) == []


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ({"a": 1}, {"a": 1}, {}),
        ({"a": 1}, {"a": 2}, {"a": {"before": 1, "after": 2}}),
        ({}, {"b": "x"}, {"b": {"before": None, "after": "x"}}),
        ({"c": True}, {}, {"c": {"before": True, "after": None}}),
    ],
)
def test_diff__changed_fields_only(
    before: dict[str, object], after: dict[str, object], expected: dict[str, object]
) -> None:
    assert rules.diff(before, after) == expected
