"""Keel's flags through the standard OpenFeature client: values of every type, OpenFeature's
reasons and error codes, the context mapping, and the sync path's cached and stale answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.config import Settings
from keel.flags import service
from keel.flags.openfeature import KeelProvider, install, org_context
from keel.kit.db import Database
from tests.flags.builders import make_flag, member_access

DOMAIN = "keel-tests"
USER = EvaluationContext(targeting_key="user-1")


@pytest.fixture
async def provider(database: Database) -> AsyncIterator[KeelProvider]:
    provider = install(database, environment="production", domain=DOMAIN)
    yield provider
    await provider.settle()  # a reload the sync path started must not outlive the test
    api.clear_providers()


@pytest.fixture
def client(provider: KeelProvider) -> OpenFeatureClient:
    return api.get_client(DOMAIN)


# ---- values and reasons ------------------------------------------------------------------------


async def test_boolean__rule_matches__true_with_targeting_match(
    db: AsyncSession, client: OpenFeatureClient
) -> None:
    # Given a flag for professional plans
    rules = [{"attribute": "plan", "operator": "in", "value": ["professional"]}]
    await make_flag(db, "analytics", targeting={"rules": rules})
    # When a professional user and a free one ask
    pro = EvaluationContext("user-1", {"plan": "professional"})
    free = EvaluationContext("user-1", {"plan": "free"})
    on = await client.get_boolean_details_async("analytics", False, pro)
    off = await client.get_boolean_details_async("analytics", True, free)
    # Then OpenFeature's reasons say why, and Keel's cause is in the metadata
    assert (on.value, on.reason, on.error_code) == (True, Reason.TARGETING_MATCH, None)
    assert on.flag_metadata == {"cause": "IN_ROLLOUT", "enabled": True}
    assert (off.value, off.reason) == (False, Reason.DEFAULT)
    assert off.flag_metadata["cause"] == "RULE_MISMATCH"


@pytest.mark.parametrize(
    ("value", "method", "default", "expected"),
    [
        ("calm", "get_string_details_async", "x", "calm"),
        (7, "get_integer_details_async", 0, 7),
        (7, "get_float_details_async", 0.0, 7.0),
        (0.25, "get_float_details_async", 0.0, 0.25),
        ({"tone": "calm", "limits": [1, 2]}, "get_object_details_async", {}, None),
        ([1, "two"], "get_object_details_async", [], None),
    ],
    ids=["string", "integer", "integer-as-float", "float", "object", "list"],
)
async def test_variant__each_type__served_with_its_variant_key(
    db: AsyncSession,
    client: OpenFeatureClient,
    value: Any,
    method: str,
    default: Any,
    expected: Any,
) -> None:
    # Given a flag serving one variant
    await make_flag(db, "tone", variants=[{"key": "only", "value": value}])
    # When it is resolved as that type
    details = await getattr(client, method)("tone", default, USER)
    # Then the value, the variant and a static reason come back
    assert details.error_code is None, details.error_message
    assert details.value == (value if expected is None else expected)
    assert (details.variant, details.reason) == ("only", Reason.STATIC)


async def test_variant__flag_off__default_without_error(
    db: AsyncSession, client: OpenFeatureClient
) -> None:
    await make_flag(db, "tone", enabled=False, variants=[{"key": "calm", "value": "calm"}])
    details = await client.get_string_details_async("tone", "fallback", USER)
    assert (details.value, details.reason, details.error_code) == (
        "fallback",
        Reason.DISABLED,
        None,
    )


# ---- errors ------------------------------------------------------------------------------------


async def test_unknown_key__flag_not_found_and_the_default(client: OpenFeatureClient) -> None:
    details = await client.get_boolean_details_async("missing", True, USER)
    assert (details.value, details.reason) == (True, Reason.ERROR)
    assert details.error_code == ErrorCode.FLAG_NOT_FOUND


@pytest.mark.parametrize(
    ("method", "default"),
    [
        ("get_string_details_async", "x"),
        ("get_integer_details_async", 1),
        ("get_object_details_async", {}),
    ],
)
async def test_boolean_flag__asked_as_another_type__type_mismatch(
    db: AsyncSession, client: OpenFeatureClient, method: str, default: Any
) -> None:
    await make_flag(db, "beta")
    details = await getattr(client, method)("beta", default, USER)
    assert details.error_code == ErrorCode.TYPE_MISMATCH
    assert (details.value, details.reason) == (default, Reason.ERROR)


async def test_string_variant__asked_as_boolean__type_mismatch(
    db: AsyncSession, client: OpenFeatureClient
) -> None:
    await make_flag(db, "tone", variants=[{"key": "calm", "value": "calm"}])
    details = await client.get_boolean_details_async("tone", False, USER)
    assert details.error_code == ErrorCode.TYPE_MISMATCH


@pytest.mark.parametrize(
    "attributes",
    [{"environment": "prod"}, {"organization_id": 42}, {"ip": ["10.0.0.1"]}],
    ids=["environment", "organization-id", "ip"],
)
async def test_context__invalid_field__invalid_context(
    db: AsyncSession, client: OpenFeatureClient, attributes: dict[str, Any]
) -> None:
    await make_flag(db, "beta")
    details = await client.get_boolean_details_async(
        "beta", False, EvaluationContext("user-1", attributes)
    )
    assert details.error_code == ErrorCode.INVALID_CONTEXT
    assert details.error_message


async def test_missing_prerequisite__general_error(
    db: AsyncSession, client: OpenFeatureClient
) -> None:
    # Given b requiring a, and a deleted since
    await make_flag(db, "a")
    await make_flag(db, "b", prerequisites=[{"flag": "a"}])
    await service.delete_flag(db, Actor.system("test"), "a")
    # When b is resolved, Then the default, with a general error naming the cause
    details = await client.get_boolean_details_async("b", True, USER)
    assert (details.value, details.error_code) == (True, ErrorCode.GENERAL)
    assert "PREREQUISITE_MISSING" in str(details.error_message)


# ---- the context -------------------------------------------------------------------------------


async def test_context__targeting_key_organization_and_environment__mapped(
    db: AsyncSession, client: OpenFeatureClient
) -> None:
    # Given flags for one user, one organization, and production only
    await make_flag(db, "for_user", targeting={"include_users": ["user-7"]}, rollout_percentage=0)
    await make_flag(
        db, "for_org", targeting={"include_organizations": ["org-3"]}, rollout_percentage=0
    )
    await make_flag(db, "prod_only", environment="production")
    # Then the targeting key is the user, organization_id the organization, and the
    # environment the provider's unless the context names another
    user = await client.get_boolean_value_async("for_user", False, EvaluationContext("user-7"))
    org = await client.get_boolean_value_async(
        "for_org", False, EvaluationContext(None, {"organization_id": "org-3"})
    )
    prod = await client.get_boolean_value_async("prod_only", False, USER)
    staging = await client.get_boolean_value_async(
        "prod_only", True, EvaluationContext("user-1", {"environment": "staging"})
    )
    assert (user, org, prod, staging) == (True, True, True, False)


async def test_org_context__member__same_answers_as_the_org_endpoint(
    db: AsyncSession, settings: Settings, client: OpenFeatureClient
) -> None:
    # Given the example flags and an enterprise member
    await service.seed_examples(db, Actor.system("test"))
    _, org = await member_access(db, settings, plan="enterprise", attributes={"beta": True})
    # When each flag is resolved through OpenFeature with their context
    context = org_context(org)
    expected = await service.evaluate_all_for(db, org, environment="production")
    # Then every answer is the service's
    for key, answer in expected.items():
        details = await client.get_boolean_details_async(key, False, context)
        assert (details.value, details.reason) == (answer.value, answer.reason), key
    assert context.attributes["plan"] == "enterprise"
    assert context.targeting_key == str(org.actor.id)


# ---- the sync path -----------------------------------------------------------------------------


async def test_sync__before_any_load__provider_not_ready(
    db: AsyncSession, client: OpenFeatureClient
) -> None:
    await make_flag(db, "beta")
    details = client.get_boolean_details("beta", False, USER)
    assert (details.value, details.error_code) == (False, ErrorCode.PROVIDER_NOT_READY)


async def test_sync__after_a_change__stale_answer_then_fresh(
    db: AsyncSession, provider: KeelProvider, client: OpenFeatureClient
) -> None:
    # Given the flags loaded once
    await make_flag(db, "beta")
    await provider.warm()
    assert client.get_boolean_details("beta", False, USER).reason == Reason.STATIC
    # When the flag is switched off (dropping the cached copy)
    await service.set_enabled(db, Actor.system("test"), "beta", enabled=False)
    # Then a sync call answers from the previous copy, marked stale, and starts a reload
    stale = client.get_boolean_details("beta", False, USER)
    assert (stale.value, stale.reason) == (True, Reason.STALE)
    await provider.settle()
    fresh = client.get_boolean_details("beta", True, USER)
    assert (fresh.value, fresh.reason) == (False, Reason.DISABLED)
