"""``/api/v1/orgs/{org_id}/access/policies``: ABAC policies, validated and applied at once."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.organizations.models import Organization
from tests.helpers.tenancy import add_member, make_caller, make_org
from tests.kit.test_http import assert_problem
from tests.organizations.builders import audit_actions, event_payloads, fresh

#: The seed's documentAccessPolicy.
SEED_POLICY: dict[str, Any] = {
    "name": "documentAccessPolicy",
    "description": "engineering reads public/internal documents from the office in office hours",
    "resource_type": "documents",
    "action": "read",
    "effect": "allow",
    "conditions": [
        {"type": "attribute_equals", "target": "user", "key": "department", "value": "engineering"},
        {
            "type": "attribute_in",
            "target": "resource",
            "key": "classification",
            "values": ["public", "internal"],
        },
        {"type": "ip_in", "cidrs": ["10.0.0.0/8"]},
        {
            "type": "time_window",
            "start": "09:00",
            "end": "17:00",
            "zone": "Europe/Paris",
            "weekdays": [0, 1, 2, 3, 4],
        },
    ],
}


def url(org_id: object, policy_id: object = None) -> str:
    base = f"/api/v1/orgs/{org_id}/access/policies"
    return base if policy_id is None else f"{base}/{policy_id}"


async def access_version(db: AsyncSession, org: Organization) -> int:
    rows = await fresh(db, select(Organization).where(Organization.id == org.id))
    return rows[0].access_version


async def test_policy__crud__stored_audited_evented_and_bumps_access_version(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an admin
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    version = await access_version(db, org)
    # When they create the seed policy, read it, disable it, list and delete it
    created = await client.post(url(org.id), json=SEED_POLICY, headers=admin.headers)
    assert created.status_code == 201, created.text
    policy_id = created.json()["id"]
    window = created.json()["conditions"][3]
    assert window["start"] == "09:00:00" and window["zone"] == "Europe/Paris"
    read = await client.get(url(org.id, policy_id), headers=admin.headers)
    assert read.json()["name"] == "documentAccessPolicy"
    disabled = await client.patch(
        url(org.id, policy_id), json={"enabled": False}, headers=admin.headers
    )
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    listed = await client.get(url(org.id), headers=admin.headers)
    assert [p["id"] for p in listed.json()["items"]] == [policy_id]
    deleted = await client.delete(url(org.id, policy_id), headers=admin.headers)
    # Then every change is audited, published and bumps access_version
    assert deleted.status_code == 204
    assert (await client.get(url(org.id, policy_id), headers=admin.headers)).status_code == 404
    actions = await audit_actions(db, org)
    for action in ("access_policy.created", "access_policy.updated", "access_policy.deleted"):
        assert action in actions
        assert await event_payloads(db, org, action) == [{"policy_id": policy_id}]
    assert await access_version(db, org) == version + 3


async def test_policy__invalid_zone_cidr_window_or_permission__422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    window = {"type": "time_window", "start": "09:00", "end": "17:00", "zone": "Mars/Olympus"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"conditions": [window]}, "policy_invalid"),
        ({"conditions": [{**window, "zone": "UTC", "end": "09:00"}]}, "policy_invalid"),
        ({"conditions": [{"type": "ip_in", "cidrs": ["10.0.0.0/33"]}]}, "validation_error"),
        ({"action": "fly"}, "policy_invalid"),
        ({"conditions": [{"type": "sql", "query": "1=1"}]}, "validation_error"),
    ]
    for change, code in cases:
        # When the policy carries one invalid part, Then 422 with the code, and nothing stored
        response = await client.post(
            url(org.id), json={**SEED_POLICY, **change}, headers=admin.headers
        )
        assert_problem(response, 422, code)
    zone = await client.post(
        url(org.id), json={**SEED_POLICY, "conditions": [window]}, headers=admin.headers
    )
    assert "Mars/Olympus" in zone.text and "IANA" in zone.text
    assert (await client.get(url(org.id), headers=admin.headers)).json()["items"] == []


async def test_policy__member_403_anonymous_401_other_tenant_404(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    member = await make_caller(db, settings)
    await add_member(db, org, member.user)
    stranger = await make_caller(db, settings)
    other = await make_org(db, stranger.user)
    created = await client.post(url(org.id), json=SEED_POLICY, headers=admin.headers)
    policy_id = created.json()["id"]
    assert_problem(await client.get(url(org.id), headers=member.headers), 403, "permission_denied")
    assert (await client.get(url(org.id))).status_code == 401
    assert_problem(await client.get(url(org.id), headers=stranger.headers), 404, "not_found")
    foreign = await client.patch(
        url(other.id, policy_id), json={"enabled": False}, headers=stranger.headers
    )
    assert_problem(foreign, 404, "not_found")


async def test_policy__deny_created_then_deleted__applies_on_the_very_next_request(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an admin who may list members
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    members_url = f"/api/v1/orgs/{org.id}/members"
    assert (await client.get(members_url, headers=admin.headers)).status_code == 200
    # When a deny policy on users:read is written, Then the next listing is refused
    deny = {"name": "freeze", "resource_type": "users", "action": "read", "effect": "deny"}
    created = await client.post(url(org.id), json=deny, headers=admin.headers)
    assert created.status_code == 201, created.text
    refused = await client.get(members_url, headers=admin.headers)
    assert "access policy" in str(assert_problem(refused, 403, "permission_denied")["detail"])
    # When it is deleted, Then the next listing is allowed again
    await client.delete(url(org.id, created.json()["id"]), headers=admin.headers)
    assert (await client.get(members_url, headers=admin.headers)).status_code == 200
