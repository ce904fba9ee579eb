"""The per-organization ``api`` rate limit of the plan catalog, over HTTP: every CONTRACT
header on answers and refusals, and a window that resets when ``Retry-After`` says."""

from __future__ import annotations

import asyncio
import time

import httpx
from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.kit.deps import Resources
from keel.organizations.dependencies import WithinGenerateLimit
from tests.helpers.app import client_for
from tests.helpers.tenancy import make_caller, make_org, make_platform_owner
from tests.kit.test_http import RATE_LIMIT_HEADERS as CONTRACT_HEADERS
from tests.kit.test_http import assert_problem
from tests.plans.builders import give_deal


async def test_org_api_limit__past_it__429_with_every_header_then_reset_as_announced(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an organization whose deal allows 3 API requests per 2 s
    owner = await make_platform_owner(db, settings)
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    await give_deal(client, owner, org, {"rate_limits": {"api": {"limit": 3, "window_seconds": 2}}})
    url = f"/api/v1/orgs/{org.id}"
    # When its admin calls within one window (aligned so all four calls share it)
    await asyncio.sleep(2 - time.time() % 2 + 0.05)
    answers = [await client.get(url, headers=admin.headers) for _ in range(4)]
    # Then three pass, each announcing what is left
    for n, answer in enumerate(answers[:3]):
        assert answer.status_code == 200, answer.text
        assert all(name in answer.headers for name in CONTRACT_HEADERS), answer.headers
        assert answer.headers["X-RateLimit-Limit"] == "3"
        assert answer.headers["X-RateLimit-Remaining"] == str(2 - n)
        assert answer.headers["RateLimit-Policy"] == "3;w=2"
    # And the fourth is a 429 with every header and the body fields
    refused = answers[3]
    body = assert_problem(refused, 429, "rate_limited")
    assert all(name in refused.headers for name in (*CONTRACT_HEADERS, "Retry-After"))
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    retry_after = int(refused.headers["Retry-After"])
    assert (body["limit"], body["window"], body["retry_after"]) == (3, 2, retry_after)
    assert 1 <= retry_after <= 2
    assert int(refused.headers["X-RateLimit-Reset"]) >= int(time.time())
    # When Retry-After has passed, Then the next call is allowed with a fresh budget
    await asyncio.sleep(retry_after)
    again = await client.get(url, headers=admin.headers)
    assert again.status_code == 200, again.text
    assert again.headers["X-RateLimit-Remaining"] == "2"


async def test_org_api_limit__one_org_over__another_org_unaffected(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given two organizations, the first with a budget of one request per minute
    owner = await make_platform_owner(db, settings)
    admin = await make_caller(db, settings)
    tight, other = await make_org(db, admin.user), await make_org(db, admin.user)
    await give_deal(
        client, owner, tight, {"rate_limits": {"api": {"limit": 1, "window_seconds": 60}}}
    )
    # When the first spends its budget
    assert (await client.get(f"/api/v1/orgs/{tight.id}", headers=admin.headers)).status_code == 200
    refused = await client.get(f"/api/v1/orgs/{tight.id}", headers=admin.headers)
    assert_problem(refused, 429, "rate_limited")
    # Then the same person in the other organization is still served, on its plan's budget
    served = await client.get(f"/api/v1/orgs/{other.id}", headers=admin.headers)
    assert served.status_code == 200, served.text
    assert served.headers["X-RateLimit-Limit"] == "100"


generate_probe = APIRouter()


@generate_probe.get("/orgs/{org_id}/probe/generate")
async def probe_generate(org: WithinGenerateLimit) -> dict[str, str]:
    return {"org": str(org.org_id)}


async def test_generate_group__free_plan__ten_an_hour_from_the_seed_table(
    db: AsyncSession, settings: Settings, resources: Resources
) -> None:
    # Given a free organization and a route of the `generate` endpoint group
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    async with client_for(settings, resources, generate_probe) as client:
        url = f"/api/v1/orgs/{org.id}/probe/generate"
        # When it is called eleven times in the hour
        answers = [await client.get(url, headers=admin.headers) for _ in range(11)]
    # Then ten pass and the eleventh is refused with the hour-long window of the seed's table
    assert [a.status_code for a in answers[:10]] == [200] * 10
    body = assert_problem(answers[10], 429, "rate_limited")
    assert (body["limit"], body["window"]) == (10, 3600)
    assert answers[10].headers["RateLimit-Policy"] == "10;w=3600"
