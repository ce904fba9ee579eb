"""Builders for the plans tests: organizations at a limit, deals given over the admin API."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.organizations.models import Organization
from tests.helpers.tenancy import Caller, make_caller, make_org

API = "/api/v1"


def org_url(org: Organization, rest: str = "") -> str:
    return f"{API}/orgs/{org.id}{rest}"


async def create_project(
    client: httpx.AsyncClient, caller: Caller, org: Organization, name: str
) -> httpx.Response:
    return await client.post(org_url(org, "/projects"), json={"name": name}, headers=caller.headers)


async def free_org_with_projects(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, count: int = 3
) -> tuple[Caller, Organization]:
    """A free organization and its admin, with ``count`` projects (3: at the free limit)."""
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    for n in range(count):
        assert (await create_project(client, admin, org, f"P{n}")).status_code == 201
    return admin, org


async def give_deal(
    client: httpx.AsyncClient, owner: Caller, org: Organization, deal: dict[str, Any]
) -> httpx.Response:
    """The platform owner sets the organization's override; asserts it was accepted."""
    url = f"{API}/admin/orgs/{org.id}/plan-override"
    response = await client.put(url, json=deal, headers=owner.headers)
    assert response.status_code == 200, response.text
    return response
