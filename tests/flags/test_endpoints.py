"""``/api/v1/admin/flags`` (the platform owner) and ``/api/v1/orgs/{org_id}/flags`` (a member):
who may call them, what bad input gets, and what a change leaves behind."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from keel.access.schemas import Actor
from keel.config import FlagSettings, Settings
from keel.flags import service
from keel.kit.db import Database
from keel.kit.deps import Resources
from tests.flags.builders import (
    ADMIN_FLAGS,
    audit_actions,
    counting_queries,
    flag_body,
    make_flag,
    member_access,
    org_flags_url,
    published,
)
from tests.helpers.app import client_for
from tests.helpers.tenancy import Caller, make_caller, make_org, make_platform_owner
from tests.kit.test_http import assert_problem

#: Every admin route, with a valid body where it takes one.
ADMIN_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", ADMIN_FLAGS, None),
    ("POST", ADMIN_FLAGS, flag_body("beta")),
    ("GET", f"{ADMIN_FLAGS}/beta", None),
    ("PATCH", f"{ADMIN_FLAGS}/beta", {"rollout_percentage": 50}),
    ("DELETE", f"{ADMIN_FLAGS}/beta", None),
    ("POST", f"{ADMIN_FLAGS}/beta/toggle", {"enabled": False}),
    ("GET", f"{ADMIN_FLAGS}/beta/history", None),
    ("POST", f"{ADMIN_FLAGS}/beta/rollback", {"version": 1}),
]
ROUTE_IDS = [
    f"{method} {path.removeprefix(ADMIN_FLAGS) or '/'}" for method, path, _ in ADMIN_ROUTES
]


async def call(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    caller: Caller | None = None,
) -> httpx.Response:
    headers = caller.headers if caller is not None else {}
    return await client.request(method, path, json=body, headers=headers)


def error_fields(problem: dict[str, object]) -> list[str]:
    errors = problem["errors"]
    assert isinstance(errors, list)
    return [error["field"] for error in errors]


def forged_cursor(*values: object) -> str:
    """A cursor of the kit's shape (base64url JSON of the sort key) holding ``values``."""
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


# ---- who may call ------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES, ids=ROUTE_IDS)
async def test_admin_route__anonymous__401(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    assert_problem(await call(client, method, path, body), 401, "not_authenticated")


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES, ids=ROUTE_IDS)
async def test_admin_route__organization_admin__403_and_nothing_changes(
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    # Given a flag, and an organization admin who is not the platform owner
    await make_flag(db, "beta")
    admin = await make_caller(db, settings)
    await make_org(db, admin.user)
    # When they call an admin route, Then 403, and the flag is as it was
    assert_problem(await call(client, method, path, body, admin), 403, "permission_denied")
    assert (await service.get_flag(db, "beta")).version == 1


async def test_org_flags__anonymous__401_and_non_member__404(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    _, org = await member_access(db, settings)
    stranger = await make_caller(db, settings)
    assert_problem(await client.get(org_flags_url(org.org_id)), 401, "not_authenticated")
    response = await client.get(org_flags_url(org.org_id), headers=stranger.headers)
    assert_problem(response, 404, "not_found")


# ---- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"key": "beta", "enabeld": True}, "validation_error", "body.enabeld"),
        ({"key": "beta", "enabled": "yes"}, "validation_error", "body.enabled"),
        ({"key": "no spaces"}, "validation_error", "body.key"),
        ({"key": "beta", "rollout_percentage": 101}, "validation_error", "body.rollout_percentage"),
        ({"key": "beta", "environment": "prod"}, "validation_error", "body.environment"),
        (
            {"key": "beta", "targeting": {"rules": [{"attribute": "plan", "operator": "in"}]}},
            "validation_error",
            "body.targeting.rules.0.value",
        ),
        (
            {
                "key": "beta",
                "targeting": {
                    "rules": [{"attribute": "ip", "operator": "in_cidr", "value": ["10.0.0.1/8"]}]
                },
            },
            "flag_definition_invalid",
            "body.targeting.rules.0.value.0",
        ),
        (
            {"key": "beta", "rollout_percentage": 33.333},
            "flag_definition_invalid",
            "body.rollout_percentage",
        ),
    ],
    ids=[
        "misspelt",
        "string-bool",
        "key",
        "percent",
        "environment",
        "no-value",
        "cidr",
        "decimals",
    ],
)
async def test_create__bad_definition__422_naming_the_field(
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    body: dict[str, Any],
    code: str,
    field: str,
) -> None:
    owner = await make_platform_owner(db, settings)
    response = await call(client, "POST", ADMIN_FLAGS, body, owner)
    problem = assert_problem(response, 422, code)
    assert field in error_fields(problem)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"key": "beta", "variants": [{"key": "a", "value": NaN}]}', "body.variants.0.value"),
        ('{"key": "beta", "name": "a\\u0000b"}', "body.name"),
        (
            '{"key": "beta", "targeting": {"include_users": ["u\\u0000"]}}',
            "body.targeting.include_users.0",
        ),
        (
            '{"key": "beta", "variants": [{"key": "a", "value": {"k": "\\u0000"}}]}',
            "body.variants.0.value.k",
        ),
    ],
    ids=["nan", "nul-name", "nul-id", "nul-in-value"],
)
async def test_create__json_the_database_cannot_store__422_not_500(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, raw: str, field: str
) -> None:
    # Given a body Python reads but PostgreSQL would refuse (NaN, a NUL character)
    owner = await make_platform_owner(db, settings)
    headers = {**owner.headers, "content-type": "application/json"}
    # When it is posted, Then it is refused as input, naming the field
    response = await client.post(ADMIN_FLAGS, content=raw, headers=headers)
    problem = assert_problem(response, 422, "validation_error")
    assert error_fields(problem) == [field]


async def test_admin_routes__bad_key_version_cursor_or_null__422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_platform_owner(db, settings)
    await make_flag(db, "beta")
    for method, path, body in (
        ("GET", f"{ADMIN_FLAGS}/-bad-", None),
        ("POST", f"{ADMIN_FLAGS}/beta/rollback", {"version": 0}),
        ("POST", f"{ADMIN_FLAGS}/beta/toggle", {"enabled": 1}),
        ("PATCH", f"{ADMIN_FLAGS}/beta", {"key": "renamed"}),
        ("PATCH", f"{ADMIN_FLAGS}/beta", {"name": None}),
        ("GET", f"{ADMIN_FLAGS}?cursor=forged", None),
        ("GET", f"{ADMIN_FLAGS}?cursor={forged_cursor('a' + chr(0), str(uuid.uuid4()))}", None),
        ("GET", f"{ADMIN_FLAGS}/beta/history?cursor={forged_cursor(2**70, 'x')}", None),
        ("GET", f"{ADMIN_FLAGS}?limit=101", None),
    ):
        assert_problem(await call(client, method, path, body, owner), 422, "validation_error")


async def test_admin_routes__unknown_flag__404(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_platform_owner(db, settings)
    for method, path, body in ADMIN_ROUTES[2:]:
        response = await call(client, method, path.replace("beta", "missing"), body, owner)
        assert_problem(response, 404, "not_found")


async def test_create__key_taken__409(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_platform_owner(db, settings)
    await make_flag(db, "beta")
    response = await call(client, "POST", ADMIN_FLAGS, flag_body("beta"), owner)
    assert_problem(response, 409, "flag_key_taken")


async def test_update__prerequisites_form_a_cycle__422_with_the_cycle(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given b requiring a
    owner = await make_platform_owner(db, settings)
    await make_flag(db, "a")
    await make_flag(db, "b", prerequisites=[{"flag": "a"}])
    # When a is made to require b
    body = {"prerequisites": [{"flag": "b"}]}
    response = await call(client, "PATCH", f"{ADMIN_FLAGS}/a", body, owner)
    # Then 422 names the loop, and a is unchanged
    problem = assert_problem(response, 422, "flag_prerequisite_cycle")
    assert problem["cycle"] == ["a", "b", "a"]
    assert "remove one of these links" in str(problem["detail"])
    assert problem["errors"] == [{"field": "body.prerequisites", "message": problem["detail"]}]
    assert (await service.get_flag(db, "a")).definition["prerequisites"] == []


# ---- changes and what they leave behind --------------------------------------------------------


async def test_flag__create_read_update_toggle_delete__audited_and_published(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_platform_owner(db, settings)
    # When the owner creates, reads, updates, toggles and deletes a flag
    created = await call(
        client, "POST", ADMIN_FLAGS, flag_body("beta", rollout_percentage=10), owner
    )
    assert created.status_code == 201, created.text
    flag_id = created.json()["id"]
    assert created.json()["version"] == 1
    assert created.json()["created_by"] == str(owner.user.id)
    read = await call(client, "GET", f"{ADMIN_FLAGS}/beta", None, owner)
    assert read.json() == created.json()
    updated = await call(client, "PATCH", f"{ADMIN_FLAGS}/beta", {"rollout_percentage": 60}, owner)
    assert updated.status_code == 200, updated.text
    assert (updated.json()["rollout_percentage"], updated.json()["version"]) == (60.0, 2)
    toggled = await call(client, "POST", f"{ADMIN_FLAGS}/beta/toggle", {"enabled": False}, owner)
    assert (toggled.json()["enabled"], toggled.json()["version"]) == (False, 3)
    deleted = await call(client, "DELETE", f"{ADMIN_FLAGS}/beta", None, owner)
    assert deleted.status_code == 204
    # Then every change was audited by the owner (as staff) and published
    assert await audit_actions(db, flag_id) == [
        "feature.created",
        "feature.updated",
        "feature.disabled",
        "feature.deleted",
    ]
    events = await published(db, "beta")
    assert [name for name, _ in events] == [
        "feature.created",
        "feature.updated",
        "feature.disabled",
        "feature.deleted",
    ]
    assert {payload["changed_by"] for _, payload in events} == {str(owner.user.id)}
    assert_problem(await call(client, "GET", f"{ADMIN_FLAGS}/beta", None, owner), 404, "not_found")


async def test_flag__history_and_rollback__previous_version_restored_as_new(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a flag whose targeting was changed
    owner = await make_platform_owner(db, settings)
    first = {"include_users": ["u-1"]}
    await call(client, "POST", ADMIN_FLAGS, flag_body("beta", targeting=first), owner)
    second = {"targeting": {"include_users": ["u-2"]}}
    await call(client, "PATCH", f"{ADMIN_FLAGS}/beta", second, owner)
    # When the history is read, a page of one at a time
    page = await call(client, "GET", f"{ADMIN_FLAGS}/beta/history?limit=1", None, owner)
    rest = await call(
        client,
        "GET",
        f"{ADMIN_FLAGS}/beta/history?cursor={page.json()['next_cursor']}",
        None,
        owner,
    )
    # Then it lists who changed what and when, newest first
    [latest] = page.json()["items"]
    assert (latest["version"], latest["action"]) == (2, "updated")
    assert latest["changed_by"] == str(owner.user.id) and latest["changed_at"]
    assert latest["diff"] == {"targeting.include_users": {"before": ["u-1"], "after": ["u-2"]}}
    assert [v["version"] for v in rest.json()["items"]] == [1]
    assert rest.json()["next_cursor"] is None
    # When version 1 is restored
    restored = await call(client, "POST", f"{ADMIN_FLAGS}/beta/rollback", {"version": 1}, owner)
    # Then it is current again, as version 3
    assert restored.status_code == 200, restored.text
    assert restored.json()["targeting"]["include_users"] == ["u-1"]
    assert restored.json()["version"] == 3
    history = await call(client, "GET", f"{ADMIN_FLAGS}/beta/history", None, owner)
    assert [v["action"] for v in history.json()["items"]] == ["rolled_back", "updated", "created"]
    unknown = await call(client, "POST", f"{ADMIN_FLAGS}/beta/rollback", {"version": 9}, owner)
    assert_problem(unknown, 422, "unknown_flag_version")


async def test_list__two_pages__every_flag_once(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_platform_owner(db, settings)
    for key in ("b", "a", "c"):
        await make_flag(db, key)
    # newest first
    first = await call(client, "GET", f"{ADMIN_FLAGS}?limit=2", None, owner)
    cursor = first.json()["next_cursor"]
    second = await call(client, "GET", f"{ADMIN_FLAGS}?limit=2&cursor={cursor}", None, owner)
    assert [f["key"] for f in first.json()["items"] + second.json()["items"]] == ["c", "a", "b"]


# ---- what a member sees ------------------------------------------------------------------------


async def test_org_flags__member__values_with_their_plan_and_ids(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given the example flags, a flag for one user, and one with variants
    await service.seed_examples(db, Actor.system("test"))
    member, org = await member_access(db, settings, plan="enterprise")
    free_member, free_org = await member_access(db, settings, plan="free")
    await make_flag(
        db, "early", targeting={"include_users": [str(member.user.id)]}, rollout_percentage=0
    )
    await make_flag(db, "tone", variants=[{"key": "calm", "value": {"tone": "calm"}}])
    # When the member reads their organization's flags
    response = await client.get(org_flags_url(org.org_id), headers=member.headers)
    # Then each flag is computed for them: their plan, their id, this process's environment
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["environment"] == "development"
    flags = body["flags"]
    assert flags["advanced_analytics"] == {
        "enabled": True,
        "value": True,
        "variant": None,
        "reason": "TARGETING_MATCH",
    }
    assert flags["ai_assistant"]["enabled"] is False  # production only
    assert flags["ai_assistant"]["reason"] == "DISABLED"
    assert flags["team_collaboration"]["reason"] == "STATIC"
    assert flags["early"]["enabled"] is True and flags["early"]["reason"] == "TARGETING_MATCH"
    assert flags["tone"] == {
        "enabled": True,
        "value": {"tone": "calm"},
        "variant": "calm",
        "reason": "STATIC",
    }
    # And a member of a free organization does not get the paid feature
    theirs = await client.get(org_flags_url(free_org.org_id), headers=free_member.headers)
    assert theirs.json()["flags"]["advanced_analytics"]["enabled"] is False


async def test_org_flags__warm__flags_not_queried_and_a_toggle_shows_at_once(
    client: httpx.AsyncClient,
    db: AsyncSession,
    database: Database,
    engine: AsyncEngine,
    settings: Settings,
) -> None:
    # Given a member who has read the flags once (caches warm)
    owner = await make_platform_owner(db, settings)
    await make_flag(db, "beta")
    member, org = await member_access(db, settings)
    url = org_flags_url(org.org_id)
    assert (await client.get(url, headers=member.headers)).json()["flags"]["beta"]["enabled"]
    # When they read again, Then no statement reads the flags (other domains' per-request
    # work, such as plan overrides, is theirs to count)
    with counting_queries(engine) as count:
        again = await client.get(url, headers=member.headers)
    assert again.status_code == 200
    assert not [sql for sql in count.statements if "feature_flag" in sql], count.statements
    # And after the owner switches the flag off, the very next read says so
    await call(client, "POST", f"{ADMIN_FLAGS}/beta/toggle", {"enabled": False}, owner)
    after = await client.get(url, headers=member.headers)
    assert after.json()["flags"]["beta"] == {
        "enabled": False,
        "value": False,
        "variant": None,
        "reason": "DISABLED",
    }
    assert database.near.hits > 0


async def test_org_flags__staging_deployment__evaluated_in_staging(
    db: AsyncSession, settings: Settings, resources: Resources
) -> None:
    # Given a staging deployment (KEEL_FLAGS__ENVIRONMENT=staging) and a staging-only flag
    staging = settings.model_copy(update={"flags": FlagSettings(environment="staging")})
    await make_flag(db, "staging_only", environment="staging")
    member, org = await member_access(db, settings)
    on_staging = Resources(staging, resources.database, resources.cache, resources.broadcast)
    async with client_for(staging, on_staging) as client:
        # When a member reads the flags
        response = await client.get(org_flags_url(org.org_id), headers=member.headers)
    # Then they were evaluated in staging, where the flag is on
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["environment"] == "staging"
    assert body["flags"]["staging_only"]["enabled"] is True
