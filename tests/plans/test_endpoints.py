"""Plans over HTTP: the catalog, gating of the existing flows (402 with the upgrade), the
superadmin's plan change, catalog edit and override, an organization's plan and usage."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.kit.deps import Resources
from keel.organizations.models import Organization
from keel.plans import service as plans_service
from tests.helpers.tenancy import Caller, add_member, make_caller, make_org, make_platform_owner
from tests.kit.test_http import assert_problem
from tests.organizations.builders import audit_actions, event_payloads
from tests.plans.builders import API, create_project, free_org_with_projects, give_deal, org_url


async def change_plan(
    client: httpx.AsyncClient, owner: Caller, org: Organization, plan: str
) -> httpx.Response:
    return await client.put(
        f"{API}/admin/orgs/{org.id}/plan", json={"plan": plan}, headers=owner.headers
    )


async def test_catalog__public__four_tiers_with_the_seed_limits(client: httpx.AsyncClient) -> None:
    # When anyone reads the catalog
    response = await client.get(f"{API}/plans")
    # Then the four tiers come cheapest first, each with every feature and its rate limits
    assert response.status_code == 200, response.text
    plans = {p["key"]: p for p in response.json()}
    assert list(plans) == ["free", "starter", "professional", "enterprise"]
    assert plans["free"]["features"]["max_projects"] == 3
    assert plans["enterprise"]["features"]["max_users"] == -1
    generate = {key: p["rate_limits"]["generate"] for key, p in plans.items()}
    analytics = {key: p["rate_limits"]["analytics"] for key, p in plans.items()}
    assert generate["free"] == {"limit": 10, "window_seconds": 3600}
    assert generate["professional"] == {"limit": 1000, "window_seconds": 3600}
    assert analytics["free"] == {"limit": 100, "window_seconds": 86400}
    assert analytics["professional"] == {"limit": 10000, "window_seconds": 86400}
    assert generate["enterprise"] is None and analytics["enterprise"] is None
    assert all(p["price_annual_cents"] <= 12 * p["price_monthly_cents"] for p in plans.values())


async def test_fourth_project__free_plan__402_naming_upgrade_then_allowed_after_change(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a free organization with three projects
    admin, org = await free_org_with_projects(client, db, settings)
    # When it creates a fourth
    refused = await create_project(client, admin, org, "P3")
    # Then 402 plan_limit_exceeded names the limit, the plan and the cheapest upgrade
    body = assert_problem(refused, 402, "plan_limit_exceeded")
    assert (body["feature"], body["plan"], body["limit"], body["current"]) == (
        "max_projects",
        "free",
        3,
        3,
    )
    assert body["upgrade_to"] == "starter" and "Upgrade to Starter" in str(body["detail"])
    # When the platform owner moves it to starter
    owner = await make_platform_owner(db, settings)
    changed = await change_plan(client, owner, org, "starter")
    assert changed.status_code == 200, changed.text
    assert changed.json()["plan"] == "starter"
    # Then the fourth project is created, and the change was audited and published
    assert (await create_project(client, admin, org, "P3")).status_code == 201
    assert "subscription.changed" in await audit_actions(db, org)
    payloads = await event_payloads(db, org, "subscription.changed")
    assert payloads[-1] == {"previous_plan": "free", "plan": "starter", "change": "plan"}


async def test_api_key__organization_on_free__402_feature_not_in_plan(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a free organization: it cannot create a key
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    body = {"name": "CI", "permissions": ["users:read"]}
    refused = await client.post(org_url(org, "/api-keys"), json=body, headers=admin.headers)
    assert assert_problem(refused, 402, "feature_not_in_plan")["upgrade_to"] == "starter"
    # And a key made while on starter stops working once the organization is back on free
    owner = await make_platform_owner(db, settings)
    assert (await change_plan(client, owner, org, "starter")).status_code == 200
    created = await client.post(org_url(org, "/api-keys"), json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    key = {"Authorization": f"Bearer {created.json()['secret']}"}
    assert (await client.get(org_url(org, "/members"), headers=key)).status_code == 200
    assert (await change_plan(client, owner, org, "free")).status_code == 200
    # When the key is used, Then 402 feature_not_in_plan naming api_access
    used = await client.get(org_url(org, "/members"), headers=key)
    problem = assert_problem(used, 402, "feature_not_in_plan")
    assert (problem["feature"], problem["plan"], problem["upgrade_to"]) == (
        "api_access",
        "free",
        "starter",
    )


async def test_custom_role__free_plan__402_upgrade_to_professional(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    body = {
        "name": "Auditor",
        "grants": [{"permission": "documents:read", "scope": "organization"}],
    }
    refused = await client.post(org_url(org, "/roles"), json=body, headers=admin.headers)
    assert assert_problem(refused, 402, "feature_not_in_plan")["upgrade_to"] == "professional"


async def test_invite__seats_full__402_max_users(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a free organization (5 seats) with five members
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    for _ in range(4):
        await add_member(db, org, (await make_caller(db, settings)).user)
    # When its admin invites a sixth person, Then 402 on max_users
    body = {"email": "sixth@example.com", "role": "member"}
    refused = await client.post(org_url(org, "/invitations"), json=body, headers=admin.headers)
    problem = assert_problem(refused, 402, "plan_limit_exceeded")
    assert (problem["feature"], problem["current"], problem["upgrade_to"]) == (
        "max_users",
        5,
        "starter",
    )


async def test_organization_plan__member__limits_usage_and_percentages(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, resources: Resources
) -> None:
    # Given a free organization with two members and two projects
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    member = await make_caller(db, settings)
    await add_member(db, org, member.user)
    for n in range(2):
        assert (await create_project(client, admin, org, f"P{n}")).status_code == 201
    # When a member reads the organization's plan (its API calls flushed first)
    await plans_service.flush_api_calls(resources.database)
    response = await client.get(org_url(org, "/plan"), headers=member.headers)
    # Then every limit is there with its use
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["plan"]["key"] == "free" and body["has_override"] is False
    usage = body["usage"]
    assert usage["max_projects"] == {"limit": 3, "used": 2, "percent": 66.7}
    assert usage["max_users"] == {"limit": 5, "used": 2, "percent": 40.0}
    assert usage["max_storage_gb"]["used"] == 0
    # the two creations and this read were counted (two flushed, this one pending or flushed)
    assert usage["max_api_calls_per_month"]["used"] >= 2
    assert usage["max_concurrent_sessions"] == {"limit": 3, "used": None, "percent": None}


async def test_organization_plan__anonymous_401_other_tenant_404(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    stranger = await make_caller(db, settings)
    assert_problem(await client.get(org_url(org, "/plan")), 401, "not_authenticated")
    assert_problem(
        await client.get(org_url(org, "/plan"), headers=stranger.headers), 404, "not_found"
    )


async def test_admin_plans__not_superadmin__403_and_org_routes_404(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an organization admin who is not the platform owner
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    # When they try the platform owner's routes, Then 403 (catalog) or 403 (own org: exists)
    patch = await client.patch(f"{API}/admin/plans/free", json={"name": "X"}, headers=admin.headers)
    assert_problem(patch, 403, "permission_denied")
    assert_problem(await change_plan(client, admin, org, "enterprise"), 403, "permission_denied")
    # And another tenant's id is a 404, like every tenant route
    other = await make_org(db, (await make_caller(db, settings)).user)
    assert_problem(await change_plan(client, admin, other, "enterprise"), 404, "not_found")


async def test_change_plan__unknown_plan_or_bad_body__422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_platform_owner(db, settings)
    org = await make_org(db, (await make_caller(db, settings)).user)
    assert_problem(await change_plan(client, owner, org, "platinum"), 422, "plan_invalid")
    assert_problem(await change_plan(client, owner, org, "Bad Key!"), 422, "validation_error")


async def test_update_plan__superadmin__audited_and_gating_follows_at_once(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a free organization at its three projects
    owner = await make_platform_owner(db, settings)
    admin, org = await free_org_with_projects(client, db, settings)
    # When the platform owner raises free's project limit to 4
    url = f"{API}/admin/plans/free"
    bad = await client.patch(
        url, json={"features": {"max_projects": "many"}}, headers=owner.headers
    )
    assert_problem(bad, 422, "validation_error")
    unknown = await client.patch(url, json={"features": {"teleport": True}}, headers=owner.headers)
    assert_problem(unknown, 422, "validation_error")
    changed = await client.patch(url, json={"features": {"max_projects": 4}}, headers=owner.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["features"]["max_projects"] == 4
    assert changed.json()["features"]["max_users"] == 5  # merged, not replaced
    # Then the very next creation sees it: a fourth project fits, a fifth does not
    assert (await create_project(client, admin, org, "P3")).status_code == 201
    assert_problem(await create_project(client, admin, org, "P4"), 402, "plan_limit_exceeded")
    listed = await client.get(f"{API}/plans")
    assert {p["key"]: p for p in listed.json()}["free"]["features"]["max_projects"] == 4


async def test_override__enterprise_deal__lifts_limit_then_cleared(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a free organization at its limit
    owner = await make_platform_owner(db, settings)
    admin, org = await free_org_with_projects(client, db, settings)
    url = f"{API}/admin/orgs/{org.id}/plan-override"
    # When the platform owner gives it ten projects
    await give_deal(client, owner, org, {"features": {"max_projects": 10}, "note": "pilot"})
    # Then it can grow, the plan page says so, and the deal was audited and published
    assert (await create_project(client, admin, org, "P3")).status_code == 201
    page = (await client.get(org_url(org, "/plan"), headers=admin.headers)).json()
    assert page["has_override"] is True and page["usage"]["max_projects"]["limit"] == 10
    assert "plan.override_changed" in await audit_actions(db, org)
    assert (await event_payloads(db, org, "subscription.changed"))[-1]["change"] == "override"
    assert (await client.get(url, headers=owner.headers)).json()["features"] == {"max_projects": 10}
    # When the deal is cleared, Then the plan's limit applies again
    assert (await client.delete(url, headers=owner.headers)).status_code == 204
    assert_problem(await create_project(client, admin, org, "P4"), 402, "plan_limit_exceeded")
    assert (await client.get(url, headers=owner.headers)).json() is None
    bad = await client.put(url, json={"features": {"sso": 3}}, headers=owner.headers)
    assert_problem(bad, 422, "validation_error")


async def test_monthly_api_quota__reached__402_on_the_next_request(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an organization whose deal allows three API calls a month
    owner = await make_platform_owner(db, settings)
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    await give_deal(client, owner, org, {"features": {"max_api_calls_per_month": 3}})
    # When its members make three calls, Then the fourth is refused naming the quota
    for _ in range(3):
        assert (await client.get(org_url(org), headers=admin.headers)).status_code == 200
    refused = await client.get(org_url(org), headers=admin.headers)
    problem = assert_problem(refused, 402, "plan_limit_exceeded")
    assert problem["feature"] == "max_api_calls_per_month" and problem["upgrade_to"] == "starter"
