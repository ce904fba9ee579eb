"""The read path's cached project and document views: served from the near cache after the
first read, dropped by every write to their rows, and never handed to another tenant."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.kit.db import Database
from tests.helpers.tenancy import Caller
from tests.kit.test_http import assert_problem
from tests.projects.builders import Workspace, make_workspace


def projects_url(org_id: object) -> str:
    return f"/api/v1/orgs/{org_id}/projects"


async def new_project(client: httpx.AsyncClient, ws: Workspace, **fields: Any) -> str:
    body = {"name": "Apollo", **fields}
    created = await client.post(projects_url(ws.org.id), json=body, headers=ws.admin.headers)
    assert created.status_code == 201, created.text
    return f"{projects_url(ws.org.id)}/{created.json()['id']}/documents"


async def new_document(
    client: httpx.AsyncClient, documents: str, caller: Caller, **fields: Any
) -> str:
    body = {"title": "Notes", "body": "hello", **fields}
    created = await client.post(documents, json=body, headers=caller.headers)
    assert created.status_code == 201, created.text
    return f"{documents}/{created.json()['id']}"


async def read_twice(
    client: httpx.AsyncClient, database: Database, url: str, caller: Caller, **params: Any
) -> dict[str, Any]:
    """GET ``url`` twice; the second answer must come from the near cache and match."""
    first = await client.get(url, params=params, headers=caller.headers)
    assert first.status_code == 200, first.text
    hits = database.near.hits
    second = await client.get(url, params=params, headers=caller.headers)
    assert second.status_code == 200, second.text
    assert database.near.hits > hits
    assert second.json() == first.json()
    body: dict[str, Any] = second.json()
    return body


async def test_document__read_twice_then_updated__next_read_has_the_new_title(
    client: httpx.AsyncClient, db: AsyncSession, database: Database, settings: Settings
) -> None:
    # Given a document read twice (the second time from the near cache)
    ws = await make_workspace(db, settings)
    url = await new_document(client, await new_project(client, ws), ws.admin, title="Draft")
    assert (await read_twice(client, database, url, ws.member))["title"] == "Draft"
    # When it is renamed
    renamed = await client.patch(url, json={"title": "Final"}, headers=ws.admin.headers)
    assert renamed.status_code == 200, renamed.text
    # Then the very next read has the new title, and is cached again
    assert (await read_twice(client, database, url, ws.member))["title"] == "Final"


async def test_document__cached_then_deleted__404(
    client: httpx.AsyncClient, db: AsyncSession, database: Database, settings: Settings
) -> None:
    ws = await make_workspace(db, settings)
    url = await new_document(client, await new_project(client, ws), ws.admin)
    await read_twice(client, database, url, ws.member)
    assert (await client.delete(url, headers=ws.admin.headers)).status_code == 204
    assert_problem(await client.get(url, headers=ws.member.headers), 404, "not_found")


async def test_document__cached_then_its_project_deleted__404(
    client: httpx.AsyncClient, db: AsyncSession, database: Database, settings: Settings
) -> None:
    # Given a cached document and page of its project
    ws = await make_workspace(db, settings)
    documents = await new_project(client, ws)
    url = await new_document(client, documents, ws.admin)
    await read_twice(client, database, url, ws.member)
    await read_twice(client, database, documents, ws.member)
    # When the project is deleted (its documents go with it, by the database's cascade)
    project = documents.removesuffix("/documents")
    assert (await client.delete(project, headers=ws.admin.headers)).status_code == 204
    # Then neither the document nor the listing is found any more
    assert_problem(await client.get(url, headers=ws.member.headers), 404, "not_found")
    assert_problem(await client.get(documents, headers=ws.member.headers), 404, "not_found")


async def test_document_page__cached_then_document_created__listed_on_the_next_read(
    client: httpx.AsyncClient, db: AsyncSession, database: Database, settings: Settings
) -> None:
    # Given a project's first page of documents, read twice (cached)
    ws = await make_workspace(db, settings)
    documents = await new_project(client, ws)
    first = await new_document(client, documents, ws.admin, title="First")
    page = await read_twice(client, database, documents, ws.member)
    assert [d["title"] for d in page["items"]] == ["First"]
    # When another document is created
    second = await new_document(client, documents, ws.member, title="Second")
    # Then the very next page lists both
    page = await read_twice(client, database, documents, ws.member)
    assert sorted(d["title"] for d in page["items"]) == ["First", "Second"]
    # And after one is renamed and the other deleted, the page follows again
    await client.patch(second, json={"title": "Second v2"}, headers=ws.member.headers)
    assert (await client.delete(first, headers=ws.admin.headers)).status_code == 204
    page = await read_twice(client, database, documents, ws.member)
    assert [d["title"] for d in page["items"]] == ["Second v2"]


async def test_document_page__filtered_pages_cached_apart(
    client: httpx.AsyncClient, db: AsyncSession, database: Database, settings: Settings
) -> None:
    # Given documents of two classifications, and the unfiltered page cached
    ws = await make_workspace(db, settings)
    documents = await new_project(client, ws)
    await new_document(client, documents, ws.admin, title="Open", classification="public")
    await new_document(client, documents, ws.admin, title="Inner", classification="internal")
    everything = await read_twice(client, database, documents, ws.admin)
    # When a filtered page is read, Then it is not the cached unfiltered one
    public = await read_twice(client, database, documents, ws.admin, classification="public")
    assert sorted(d["title"] for d in everything["items"]) == ["Inner", "Open"]
    assert [d["title"] for d in public["items"]] == ["Open"]


async def test_document__unshared_from_guest__next_read_404(
    client: httpx.AsyncClient, db: AsyncSession, database: Database, settings: Settings
) -> None:
    # Given two documents shared with the guest, one of which they read twice (cached)
    ws = await make_workspace(db, settings)
    documents = await new_project(client, ws)
    shared = [str(ws.guest.user.id)]
    url = await new_document(client, documents, ws.admin, shared_with=shared)
    still_shared = await new_document(client, documents, ws.admin, shared_with=shared)
    await read_twice(client, database, url, ws.guest)
    # When that one is no longer shared with them (the project stays reachable through the
    # other)
    unshared = await client.patch(url, json={"shared_with": []}, headers=ws.admin.headers)
    assert unshared.status_code == 200, unshared.text
    # Then their very next read of it is not found (the access check ran on the fresh view)
    assert_problem(await client.get(url, headers=ws.guest.headers), 404, "not_found")
    assert (await client.get(still_shared, headers=ws.guest.headers)).status_code == 200


async def test_document__reclassified__policy_on_the_cached_view_follows_on_the_next_read(
    client: httpx.AsyncClient, db: AsyncSession, database: Database, settings: Settings
) -> None:
    # Given a policy that keeps sales away from confidential documents, and a salesperson
    # who read an internal document twice (cached)
    ws = await make_workspace(db, settings)
    ws.member.user.attributes = {"department": "sales"}
    await db.flush()
    deny = {
        "name": "no-confidential-for-sales",
        "resource_type": "documents",
        "action": "read",
        "effect": "deny",
        "conditions": [
            {"type": "attribute_equals", "target": "user", "key": "department", "value": "sales"},
            {
                "type": "attribute_in",
                "target": "resource",
                "key": "classification",
                "values": ["confidential"],
            },
        ],
    }
    policies = f"/api/v1/orgs/{ws.org.id}/access/policies"
    created = await client.post(policies, json=deny, headers=ws.admin.headers)
    assert created.status_code == 201, created.text
    url = await new_document(
        client, await new_project(client, ws), ws.admin, classification="internal"
    )
    await read_twice(client, database, url, ws.member)
    # When the admin makes the document confidential
    changed = await client.patch(
        url, json={"classification": "confidential"}, headers=ws.admin.headers
    )
    assert changed.status_code == 200, changed.text
    # Then the policy sees the new classification on the very next read
    assert_problem(await client.get(url, headers=ws.member.headers), 404, "not_found")
    assert (await client.get(url, headers=ws.admin.headers)).status_code == 200


async def test_document__cached__other_tenant_gets_404_every_way(
    client: httpx.AsyncClient, db: AsyncSession, database: Database, settings: Settings
) -> None:
    # Given a document of one organization, cached for its reader
    ws = await make_workspace(db, settings)
    documents = await new_project(client, ws)
    url = await new_document(client, documents, ws.admin, title="Ours")
    await read_twice(client, database, url, ws.member)
    await read_twice(client, database, documents, ws.member)
    # And another organization's admin
    other = await make_workspace(db, settings)
    stranger = other.admin
    # When they ask for it through the first organization's path, or through their own
    # organization's path with the first one's project and document ids
    theirs = url.replace(str(ws.org.id), str(other.org.id))
    theirs_list = documents.replace(str(ws.org.id), str(other.org.id))
    # Then every read is not found, even after the first organization's reader cached it
    for _ in range(2):
        for target in (url, documents, theirs, theirs_list):
            refused = await client.get(target, headers=stranger.headers)
            assert_problem(refused, 404, "not_found")
    # And the owner organization's reader still gets it
    assert (await read_twice(client, database, url, ws.member))["title"] == "Ours"
