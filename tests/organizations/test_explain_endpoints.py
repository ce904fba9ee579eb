"""``POST /api/v1/orgs/{org_id}/access/explain``: the decision and its trace, for a member."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.organizations.models import Organization
from tests.helpers.tenancy import Caller, add_member, make_caller, make_org, make_user
from tests.kit.test_http import assert_problem
from tests.organizations.test_policies_endpoints import SEED_POLICY

IN_HOURS = "2025-03-04T10:00:00+00:00"  # a Tuesday, 11:00 in Paris
SATURDAY = "2025-03-08T10:00:00+00:00"


def url(org_id: object) -> str:
    return f"/api/v1/orgs/{org_id}/access/explain"


def question(user_id: object, *, classification: str, ip: str, when: str) -> dict[str, Any]:
    return {
        "user_id": str(user_id),
        "resource": {"type": "documents", "attributes": {"classification": classification}},
        "action": "read",
        "context": {"ip": ip, "time": when},
    }


async def seeded(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> tuple[Caller, Organization, Any]:
    """An admin, an engineering member, and the seed policy written through the API."""
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    engineer = await make_user(db, attributes={"department": "engineering"})
    await add_member(db, org, engineer, role="member")
    created = await client.post(
        f"/api/v1/orgs/{org.id}/access/policies", json=SEED_POLICY, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    return admin, org, engineer


async def test_explain__seed_policy_inside_office_hours__allowed_by_policy(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given the seed policy and an engineering member
    admin, org, engineer = await seeded(client, db, settings)
    # When an admin asks whether they may read an internal document from the office in hours
    body = question(engineer.id, classification="internal", ip="10.1.2.3", when=IN_HOURS)
    response = await client.post(url(org.id), json=body, headers=admin.headers)
    # Then allowed, decided by the policy, with RBAC's role and grant and the whole trace
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["allowed"] is True and answer["decided_by"] == "policy"
    assert answer["role"] == "member"
    assert answer["grant"] == "documents:read at organization scope"
    assert answer["policy"]["name"] == "documentAccessPolicy"
    assert answer["policy"]["effect"] == "allow" and answer["condition"] is None
    assert answer["trace"][-1] == "allowed" and "documentAccessPolicy" in answer["trace"][1]


async def test_explain__seed_policy_outside__denied_naming_the_failing_condition(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin, org, engineer = await seeded(client, db, settings)
    cases = [
        ({"when": SATURDAY}, "time 09:00-17:00 Europe/Paris on Mon,Tue,Wed,Thu,Fri"),
        ({"ip": "8.8.8.8"}, "ip in ['10.0.0.0/8']"),
        ({"classification": "confidential"}, "resource.classification in"),
    ]
    for change, failing in cases:
        # When one of the conditions does not hold
        args = {"classification": "public", "ip": "10.1.2.3", "when": IN_HOURS, **change}
        body = question(engineer.id, **args)
        response = await client.post(url(org.id), json=body, headers=admin.headers)
        # Then denied by the policy, and the answer and the trace name that condition
        answer = response.json()
        assert answer["allowed"] is False and answer["decided_by"] == "policy", answer
        assert answer["condition"].startswith(failing)
        assert failing in answer["trace"][1] and answer["trace"][-1] == "denied"


async def test_explain__deny_policy_holds__overrides_the_allow(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given the seed policy and a deny policy on restricted documents... that also allows all
    admin, org, engineer = await seeded(client, db, settings)
    deny = {
        "name": "no-restricted",
        "resource_type": "documents",
        "action": "read",
        "effect": "deny",
        "conditions": [
            {
                "type": "attribute_equals",
                "target": "resource",
                "key": "level",
                "value": "restricted",
            }
        ],
    }
    policies_url = f"/api/v1/orgs/{org.id}/access/policies"
    denied_policy = await client.post(policies_url, json=deny, headers=admin.headers)
    assert denied_policy.status_code == 201, denied_policy.text
    # When everything the allow policy asks for holds, but the document is restricted
    body = question(engineer.id, classification="public", ip="10.1.2.3", when=IN_HOURS)
    body["resource"]["attributes"]["level"] = "restricted"
    answer = (await client.post(url(org.id), json=body, headers=admin.headers)).json()
    # Then denied: deny overrides allow
    assert answer["allowed"] is False and answer["decided_by"] == "policy"
    assert answer["policy"] == {
        "id": denied_policy.json()["id"],
        "name": "no-restricted",
        "effect": "deny",
    }
    assert "deny overrides" in answer["trace"][1]


async def test_explain__rbac_denies__decided_by_rbac(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a guest of the organization (reads only what was shared with them)
    admin, org, _ = await seeded(client, db, settings)
    guest = await make_user(db, attributes={"department": "engineering"})
    await add_member(db, org, guest, role="guest")
    # When asked about an organization document, Then RBAC decides, ABAC is not consulted
    body = question(guest.id, classification="public", ip="10.1.2.3", when=IN_HOURS)
    answer = (await client.post(url(org.id), json=body, headers=admin.headers)).json()
    assert answer["allowed"] is False and answer["decided_by"] == "rbac"
    assert answer["trace"][1] == "ABAC not evaluated: RBAC denied"


async def test_explain__not_a_member_404_member_caller_403_bad_input_422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin, org, engineer = await seeded(client, db, settings)
    outsider = await make_user(db)
    body = question(outsider.id, classification="public", ip="10.1.2.3", when=IN_HOURS)
    # When the user is not a member, Then 404
    missing = await client.post(url(org.id), json=body, headers=admin.headers)
    assert_problem(missing, 404, "not_found")
    # When a member (not an admin) asks, Then 403
    member = await make_caller(db, settings)
    await add_member(db, org, member.user)
    mine = question(engineer.id, classification="public", ip="10.1.2.3", when=IN_HOURS)
    assert_problem(
        await client.post(url(org.id), json=mine, headers=member.headers), 403, "permission_denied"
    )
    # When the action is not in the catalog, or the time has no offset, Then 422
    for bad in ({**mine, "action": "fly"}, {**mine, "context": {"time": "2025-03-04T10:00:00"}}):
        response = await client.post(url(org.id), json=bad, headers=admin.headers)
        assert_problem(response, 422, "validation_error")
