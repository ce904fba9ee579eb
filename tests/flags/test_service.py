"""The flags service on a real database: every change validated, recorded in the history,
audited and published; evaluation with a caller's plan, ids and attributes, from the near
cache when warm."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from keel.access.schemas import Actor
from keel.config import Settings
from keel.flags import service
from keel.flags.errors import (
    FlagDefinitionInvalid,
    FlagKeyTaken,
    FlagNotFound,
    FlagPrerequisiteCycle,
    UnknownFlagVersion,
)
from keel.flags.models import FeatureFlagVersion
from keel.flags.rules import EXAMPLE_FLAGS, EvaluationContext, Flag
from keel.flags.schemas import FlagCreate, FlagUpdate, flag_document
from keel.kit.db import Database
from keel.kit.schemas import PageParams
from tests.flags.builders import (
    audit_actions,
    counting_queries,
    flag_body,
    make_flag,
    member_access,
    published,
)
from tests.helpers.tenancy import make_caller

SYSTEM = Actor.system("test")
PAGE = PageParams(limit=100)
PLAN_RULE = {"attribute": "plan", "operator": "in", "value": ["professional"]}


async def versions(db: AsyncSession, key: str) -> list[FeatureFlagVersion]:
    """The key's history, oldest first."""
    return list(reversed((await service.history(db, key, PAGE)).items))


def update(**fields: Any) -> FlagUpdate:
    return FlagUpdate.model_validate(fields)


def production(user: str = "user-1", **attributes: object) -> EvaluationContext:
    return EvaluationContext(environment="production", user_id=user, attributes=attributes)


# ---- creating ----------------------------------------------------------------------------------


async def test_create_flag__valid__stored_normalized_with_history_audit_and_event(
    db: AsyncSession, settings: Settings
) -> None:
    # Given the platform owner
    owner = await make_caller(db, settings, is_superadmin=True)
    actor = Actor(kind="staff", id=str(owner.user.id), on_behalf_of=owner.user.id)
    # When they create a flag with a plan rule
    flag = await service.create_flag(
        db,
        actor,
        FlagCreate.model_validate(flag_body("beta", targeting={"rules": [PLAN_RULE]})),
    )
    # Then it is stored with every field present, as version 1 by them
    assert flag.version == 1
    assert flag.created_by == flag.updated_by == owner.user.id
    assert flag.definition["targeting"]["rules"] == [PLAN_RULE]
    assert flag.definition["prerequisites"] == [] and flag.definition["environment"] == "all"
    # And the history, the audit log and the outbox say so
    [created] = await versions(db, "beta")
    assert (created.action, created.version, created.changed_by) == ("created", 1, owner.user.id)
    assert created.diff["enabled"] == {"before": None, "after": True}
    assert await audit_actions(db, flag.id) == ["feature.created"]
    [(name, payload)] = await published(db, "beta")
    assert name == "feature.created"
    assert payload["flag_version"] == 1 and payload["changed_by"] == str(owner.user.id)


async def test_create_flag__key_taken__refused(db: AsyncSession) -> None:
    await make_flag(db, "beta")
    with pytest.raises(FlagKeyTaken):
        await make_flag(db, "beta")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"rollout_percentage": 12.345}, "body.rollout_percentage"),
        (
            {"targeting": {"rules": [{"attribute": "plan", "operator": "within", "value": "x"}]}},
            "body.targeting.rules.0.operator",
        ),
        (
            {
                "targeting": {
                    "rules": [{"attribute": "v", "operator": "semver_gte", "value": "2.4"}]
                }
            },
            "body.targeting.rules.0.value",
        ),
        (
            {"targeting": {"include_users": ["u-1"], "exclude_users": ["u-1"]}},
            "body.targeting.exclude_users",
        ),
        ({"variants": [{"key": "a", "value": 1}, {"key": "a", "value": 2}]}, "body.variants.1.key"),
        ({"prerequisites": [{"flag": "beta"}]}, "body.prerequisites.0.flag"),
    ],
    ids=["decimals", "operator", "semver", "both-lists", "variant-twice", "self"],
)
async def test_create_flag__meaningless_definition__field_error(
    db: AsyncSession, fields: dict[str, Any], field: str
) -> None:
    # When a definition the engine cannot compile is saved
    with pytest.raises(FlagDefinitionInvalid) as caught:
        await make_flag(db, "beta", **fields)
    # Then the error names the field in the API's path style
    [error] = caught.value.extra["errors"]
    assert error["field"] == field
    assert error["message"]


async def test_create_flag__unknown_prerequisite__refused_as_a_typo(db: AsyncSession) -> None:
    with pytest.raises(FlagDefinitionInvalid) as caught:
        await make_flag(db, "beta", prerequisites=[{"flag": "ai_asistant"}])
    assert caught.value.extra["errors"][0]["field"] == "body.prerequisites.0.flag"


# ---- changing ----------------------------------------------------------------------------------


async def test_update_flag__one_field__new_version_with_its_diff_and_updated_event(
    db: AsyncSession,
) -> None:
    # Given a flag at 10 %
    flag = await make_flag(db, "beta", rollout_percentage=10)
    # When the rollout goes to 50 %
    changed = await service.update_flag(db, SYSTEM, "beta", update(rollout_percentage=50))
    # Then version 2 records exactly that, and feature.updated names the field
    assert changed.version == 2
    latest = (await versions(db, "beta"))[-1]
    assert (latest.action, latest.version) == ("updated", 2)
    assert latest.diff == {"rollout_percentage": {"before": 10.0, "after": 50.0}}
    assert latest.definition["rollout_percentage"] == 50.0
    assert await audit_actions(db, flag.id) == ["feature.created", "feature.updated"]
    assert (await published(db, "beta"))[-1] == (
        "feature.updated",
        {
            "flag_id": str(flag.id),
            "key": "beta",
            "flag_version": 2,
            "changed_by": None,
            "fields": ["rollout_percentage"],
        },
    )


async def test_update_flag__same_values__records_nothing(db: AsyncSession) -> None:
    await make_flag(db, "beta", rollout_percentage=10)
    unchanged = await service.update_flag(db, SYSTEM, "beta", update(rollout_percentage=10.0))
    assert unchanged.version == 1
    assert len(await versions(db, "beta")) == 1


async def test_update_flag__rule_value_true_to_1__is_a_change(db: AsyncSession) -> None:
    # Given a rule on true (in Python, True == 1; in a rule it is another value)
    rules = [{"attribute": "beta_tester", "operator": "equals", "value": True}]
    await make_flag(db, "beta", targeting={"rules": rules})
    # When it becomes 1
    rules = [{"attribute": "beta_tester", "operator": "equals", "value": 1}]
    changed = await service.update_flag(db, SYSTEM, "beta", update(targeting={"rules": rules}))
    # Then it is recorded as a change
    assert changed.version == 2


async def test_set_enabled__off_then_again_off__one_disabled_event(db: AsyncSession) -> None:
    # Given an enabled flag
    await make_flag(db, "beta")
    # When it is switched off twice
    await service.set_enabled(db, SYSTEM, "beta", enabled=False)
    again = await service.set_enabled(db, SYSTEM, "beta", enabled=False)
    # Then only the first switch is a change
    assert again.version == 2
    assert [v.action for v in await versions(db, "beta")] == ["created", "disabled"]
    assert [name for name, _ in await published(db, "beta")] == [
        "feature.created",
        "feature.disabled",
    ]


async def test_set_enabled__unknown_flag__not_found(db: AsyncSession) -> None:
    with pytest.raises(FlagNotFound):
        await service.set_enabled(db, SYSTEM, "missing", enabled=True)


async def test_rollback__to_version_1__restores_it_as_a_new_version(db: AsyncSession) -> None:
    # Given a flag changed twice (rollout, then switched off)
    flag = await make_flag(db, "beta", rollout_percentage=10)
    await service.update_flag(db, SYSTEM, "beta", update(rollout_percentage=80))
    await service.set_enabled(db, SYSTEM, "beta", enabled=False)
    # When it is rolled back to version 1
    restored = await service.rollback(db, SYSTEM, "beta", version=1)
    # Then version 4 has version 1's definition, and the history keeps everything
    assert restored.version == 4
    assert restored.definition == (await versions(db, "beta"))[0].definition
    latest = (await versions(db, "beta"))[-1]
    assert latest.action == "rolled_back"
    assert set(latest.diff) == {"enabled", "rollout_percentage"}
    # And both what it switched and what it changed are published
    assert [name for name, _ in await published(db, "beta")][-2:] == [
        "feature.enabled",
        "feature.updated",
    ]
    assert (await audit_actions(db, flag.id))[-1] == "feature.rolled_back"


async def test_rollback__unknown_version__refused(db: AsyncSession) -> None:
    await make_flag(db, "beta")
    with pytest.raises(UnknownFlagVersion):
        await service.rollback(db, SYSTEM, "beta", version=7)
    with pytest.raises(FlagNotFound):
        await service.rollback(db, SYSTEM, "missing", version=1)


async def test_update_flag__prerequisites_close_a_cycle__refused_with_the_cycle(
    db: AsyncSession,
) -> None:
    # Given a requires b, b requires c
    await make_flag(db, "c")
    await make_flag(db, "b", prerequisites=[{"flag": "c"}])
    await make_flag(db, "a", prerequisites=[{"flag": "b"}])
    # When c is made to require a
    with pytest.raises(FlagPrerequisiteCycle) as caught:
        await service.update_flag(db, SYSTEM, "c", update(prerequisites=[{"flag": "a"}]))
    # Then the loop is named, and c is unchanged
    assert caught.value.code == "flag_prerequisite_cycle"
    assert caught.value.extra["cycle"] == ["c", "a", "b", "c"]
    assert "c -> a -> b -> c" in caught.value.detail
    assert (await service.get_flag(db, "c")).version == 1


async def test_update_flag__drops_a_variant_another_flag_requires__refused(
    db: AsyncSession,
) -> None:
    # Given checkout with variants, and a flag that requires its "new" variant
    variants = [{"key": "old", "value": "v1"}, {"key": "new", "value": "v2"}]
    await make_flag(db, "checkout", variants=variants)
    await make_flag(db, "upsell", prerequisites=[{"flag": "checkout", "variant": "new"}])
    # When "new" is removed, Then the change is refused, naming who needs it
    with pytest.raises(FlagDefinitionInvalid) as caught:
        await service.update_flag(db, SYSTEM, "checkout", update(variants=variants[:1]))
    assert caught.value.extra["errors"][0]["field"] == "body.variants"
    assert "'upsell' requires it" in caught.value.extra["errors"][0]["message"]


async def test_delete_flag__dependants_stay_valid_and_history_continues(db: AsyncSession) -> None:
    # Given b requires a
    first = await make_flag(db, "a")
    await make_flag(db, "b", prerequisites=[{"flag": "a"}])
    # When a is deleted
    await service.delete_flag(db, SYSTEM, "a")
    # Then b evaluates as off for a missing prerequisite, and b can still be changed
    answer = await service.evaluate_for(db, production(), "b")
    assert (answer.enabled, answer.cause) == (False, "PREREQUISITE_MISSING")
    await service.update_flag(db, SYSTEM, "b", update(name="Still savable"))
    with pytest.raises(FlagNotFound):
        await service.get_flag(db, "a")
    # And a's history goes on when the key is created again
    second = await make_flag(db, "a")
    assert second.version == 3
    assert [(v.action, v.version) for v in await versions(db, "a")] == [
        ("created", 1),
        ("deleted", 2),
        ("created", 3),
    ]
    assert (await audit_actions(db, first.id))[-1] == "feature.deleted"
    assert [name for name, _ in await published(db, "a")][1] == "feature.deleted"


async def test_history__unknown_key__not_found(db: AsyncSession) -> None:
    with pytest.raises(FlagNotFound):
        await service.history(db, "missing", PAGE)


async def test_list_flags__two_pages__newest_first(db: AsyncSession) -> None:
    for key in ("c", "a", "b"):
        await make_flag(db, key)
    first = await service.list_flags(db, PageParams(limit=2))
    second = await service.list_flags(db, PageParams(limit=2, cursor=first.next_cursor))
    assert [f.key for f in first.items] == ["b", "a"]
    assert [f.key for f in second.items] == ["c"] and second.next_cursor is None


# ---- the example flags -------------------------------------------------------------------------


async def test_seed_examples__twice__creates_the_three_once(db: AsyncSession) -> None:
    # Given one example flag already there, changed by someone
    await make_flag(db, "team_collaboration", enabled=False)
    # When the examples are seeded twice
    first = await service.seed_examples(db, SYSTEM)
    second = await service.seed_examples(db, SYSTEM)
    # Then the two missing ones were created, once, and the changed one left alone
    assert first == ["advanced_analytics", "ai_assistant"]
    assert second == []
    ai = await service.get_flag(db, "ai_assistant")
    assert ai.definition == flag_document(EXAMPLE_FLAGS[1])
    assert (await service.get_flag(db, "team_collaboration")).definition["enabled"] is False
    assert await audit_actions(db, ai.id) == ["feature.created"]


# ---- evaluating --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plan", "on"), [("enterprise", True), ("professional", True), ("free", False)]
)
async def test_is_enabled__advanced_analytics__by_the_organizations_plan(
    db: AsyncSession, settings: Settings, plan: str, on: bool
) -> None:
    # Given the example flags and a member of an organization on ``plan``
    await service.seed_examples(db, SYSTEM)
    _, org = await member_access(db, settings, plan=plan)
    # When asked, Then the plan decides
    assert await service.is_enabled(db, org, "advanced_analytics") is on


async def test_context_for__member__ids_attributes_plan_and_role(
    db: AsyncSession, settings: Settings
) -> None:
    # Given a manager whose own attributes claim another plan
    member, org = await member_access(
        db,
        settings,
        plan="professional",
        role="manager",
        attributes={"plan": "enterprise", "country": "NO"},
    )
    # When their context is built
    context = service.context_for(org, environment="production")
    # Then ids are text, and plan and role come from the organization, not the user
    assert context.user_id == str(member.user.id)
    assert context.organization_id == str(org.org_id)
    assert context.attributes["plan"] == "professional"
    assert context.attributes["role"] == "manager"
    assert context.attributes["country"] == "NO"


async def test_context_for__api_key__bucketed_by_its_organization(
    db: AsyncSession, settings: Settings
) -> None:
    # Given an API key's access to an organization
    _, org = await member_access(db, settings)
    key = replace(org, actor=Actor(kind="api_key", id="key-1", organization_id=org.org_id))
    # When its context is built (in this process's environment)
    context = service.context_for(key)
    # Then it has no user: the organization keys the rollout
    assert context.user_id is None
    assert context.organization_id == str(org.org_id)
    assert context.environment == "development"  # KEEL_ENV development and test alike


async def test_value__variants__served_value_or_default(db: AsyncSession) -> None:
    variants = [{"key": "concise", "value": {"tone": "concise"}, "weight": 1}]
    await make_flag(db, "tone", variants=variants)
    await make_flag(db, "dark", enabled=False, variants=variants)
    assert await service.value(db, production(), "tone", default=None) == {"tone": "concise"}
    assert await service.value(db, production(), "dark", default="x") == "x"
    assert await service.value(db, production(), "missing", default=3) == 3


async def test_evaluate_for__explain__trace_of_the_decision(db: AsyncSession) -> None:
    await make_flag(db, "beta", targeting={"include_users": ["user-1"]})
    answer = await service.evaluate_for(db, production(), "beta", explain=True)
    assert answer.cause == "USER_INCLUDED"
    assert answer.trace[-1] == "result: on (USER_INCLUDED, TARGETING_MATCH)"


async def test_current_flags__warm__no_query_and_a_change_is_seen_at_once(
    db: AsyncSession, engine: AsyncEngine, database: Database
) -> None:
    # Given a flag evaluated once (the compiled flags are now cached)
    await make_flag(db, "beta")
    assert await service.is_enabled(db, production(), "beta")
    # When evaluated again, Then no statement reaches the database
    with counting_queries(engine) as count:
        for _ in range(3):
            assert await service.is_enabled(db, production(), "beta")
    assert count.total == 0, count.statements
    assert database.near.hits >= 3
    # And a change is seen by the very next evaluation
    await service.set_enabled(db, SYSTEM, "beta", enabled=False)
    assert not await service.is_enabled(db, production(), "beta")


async def test_current_flags__change_in_own_transaction__seen_before_commit(
    committed_database: Database,
) -> None:
    # Given the flags cached in a committed database (invalidation happens at commit)
    async with committed_database.transaction() as session:
        await make_flag(session, "beta")
    async with committed_database.transaction() as session:
        assert await service.is_enabled(session, production(), "beta")
    # When a transaction switches it off, Then it sees its own change before committing
    async with committed_database.transaction() as session:
        await service.set_enabled(session, SYSTEM, "beta", enabled=False)
        assert not await service.is_enabled(session, production(), "beta")
    # And after the commit every session does
    async with committed_database.transaction() as session:
        assert not await service.is_enabled(session, production(), "beta")


def test_compile_stored__bad_and_cyclic_definitions__left_out_the_rest_served() -> None:
    # Given stored definitions: a good one, one an older release accepted, and a cycle
    good = flag_document(Flag(key="good", enabled=True))
    bad = {**flag_document(Flag(key="bad", enabled=True)), "rollout_percentage": 12.345}
    x = {**flag_document(Flag(key="x", enabled=True)), "prerequisites": [{"flag": "y"}]}
    y = {**flag_document(Flag(key="y", enabled=True)), "prerequisites": [{"flag": "x"}]}
    # When they are compiled
    flags = service.compile_stored([good, bad, x, y])
    # Then the good flag and what the cycle leaves are served
    assert "good" in flags.flags and "bad" not in flags.flags
    assert len({"x", "y"} & set(flags.flags)) == 1


def test_definition_diff__nested_fields__dotted_paths() -> None:
    before = flag_document(Flag(key="f"))
    after = {**before, "targeting": {**before["targeting"], "include_users": ["u-1"]}}
    assert service.definition_diff(before, after) == {
        "targeting.include_users": {"before": [], "after": ["u-1"]}
    }


async def test_versions__stored_rows__one_per_change(db: AsyncSession) -> None:
    await make_flag(db, "beta")
    await service.set_enabled(db, SYSTEM, "beta", enabled=False)
    rows = (
        await db.scalars(select(FeatureFlagVersion).where(FeatureFlagVersion.key == "beta"))
    ).all()
    assert sorted(row.version for row in rows) == [1, 2]
