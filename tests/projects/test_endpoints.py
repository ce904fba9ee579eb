"""``/api/v1/orgs/{org_id}/projects`` and ``.../documents``: 401, 403, 404, 422, success."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from tests.helpers.tenancy import make_caller, make_org
from tests.projects.builders import make_workspace


async def test_project_crud__admin__201_200_204_then_404(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an organization's admin
    ws = await make_workspace(db, settings)
    base = f"/api/v1/orgs/{ws.org.id}/projects"
    h = ws.admin.headers
    # When they create, read, rename and delete a project
    created = await client.post(
        base, json={"name": "Apollo", "team_id": str(ws.team.id)}, headers=h
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["owner_id"], body["team_id"]) == (
        "Apollo",
        str(ws.admin.user.id),
        str(ws.team.id),
    )
    url = f"{base}/{body['id']}"
    assert (await client.get(url, headers=h)).json()["name"] == "Apollo"
    renamed = await client.patch(url, json={"name": "Artemis", "description": None}, headers=h)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Artemis"
    listed = await client.get(base, params={"team_id": str(ws.team.id)}, headers=h)
    assert [p["id"] for p in listed.json()["items"]] == [body["id"]]
    # Then after deleting it is gone
    assert (await client.delete(url, headers=h)).status_code == 204
    assert (await client.get(url, headers=h)).status_code == 404


async def test_document_crud__member__owner_is_creator(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a project
    ws = await make_workspace(db, settings)
    project = (
        await client.post(
            f"/api/v1/orgs/{ws.org.id}/projects", json={"name": "P"}, headers=ws.admin.headers
        )
    ).json()
    base = f"/api/v1/orgs/{ws.org.id}/projects/{project['id']}/documents"
    # When a member writes a document
    doc = {
        "title": "Notes",
        "body": "hello",
        "classification": "confidential",
        "tags": ["Q3", "q3"],
        "shared_with": [str(ws.guest.user.id)],
    }
    created = await client.post(base, json=doc, headers=ws.member.headers)
    # Then they own it; tags are normalized; they edit it; a manager deletes it
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["owner_id"], body["tags"], body["classification"]) == (
        str(ws.member.user.id),
        ["q3"],
        "confidential",
    )
    url = f"{base}/{body['id']}"
    edited = await client.patch(url, json={"title": "Notes v2"}, headers=ws.member.headers)
    assert edited.status_code == 200 and edited.json()["title"] == "Notes v2"
    guest_view = await client.get(url, headers=ws.guest.headers)
    assert guest_view.status_code == 200
    listed = await client.get(
        base, params={"classification": "confidential", "tag": "q3"}, headers=ws.member.headers
    )
    assert [d["id"] for d in listed.json()["items"]] == [body["id"]]
    assert (await client.delete(url, headers=ws.admin.headers)).status_code == 204
    assert (await client.get(url, headers=ws.member.headers)).status_code == 404


async def test_projects__anonymous__401(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    ws = await make_workspace(db, settings)
    base = f"/api/v1/orgs/{ws.org.id}/projects"
    assert (await client.get(base)).status_code == 401
    assert (await client.post(base, json={"name": "x"})).status_code == 401
    assert (await client.get(f"{base}/{ws.team.id}/documents")).status_code == 401


async def test_projects__wrong_role__403(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a project with a document by the admin, shared with the guest
    ws = await make_workspace(db, settings)
    base = f"/api/v1/orgs/{ws.org.id}/projects"
    project = (await client.post(base, json={"name": "P"}, headers=ws.admin.headers)).json()
    docs = f"{base}/{project['id']}/documents"
    doc = (
        await client.post(
            docs,
            json={"title": "D", "shared_with": [str(ws.guest.user.id)]},
            headers=ws.admin.headers,
        )
    ).json()
    # When a guest writes, a member deletes, a member edits the admin's document
    guest_create = await client.post(base, json={"name": "G"}, headers=ws.guest.headers)
    guest_doc = await client.post(docs, json={"title": "G"}, headers=ws.guest.headers)
    member_delete = await client.delete(f"{docs}/{doc['id']}", headers=ws.member.headers)
    member_edit = await client.patch(
        f"{docs}/{doc['id']}", json={"title": "M"}, headers=ws.member.headers
    )
    member_project = await client.patch(
        f"{base}/{project['id']}", json={"name": "M"}, headers=ws.member.headers
    )
    # Then each is 403 permission_denied, and the document is unchanged
    for response in (guest_create, guest_doc, member_delete, member_edit, member_project):
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "permission_denied"
    assert (await client.get(f"{docs}/{doc['id']}", headers=ws.admin.headers)).json()[
        "title"
    ] == "D"


async def test_projects__other_tenant__404_and_nothing_changes(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a project and document in org A, and an admin of org B
    ws = await make_workspace(db, settings)
    base = f"/api/v1/orgs/{ws.org.id}/projects"
    project = (await client.post(base, json={"name": "A"}, headers=ws.admin.headers)).json()
    docs = f"{base}/{project['id']}/documents"
    doc = (await client.post(docs, json={"title": "A doc"}, headers=ws.admin.headers)).json()
    stranger = await make_caller(db, settings)
    other = await make_org(db, stranger.user)
    h = stranger.headers
    # When B's admin uses A's ids through A's path and through B's own path
    responses = []
    for org_id in (ws.org.id, other.id):
        p = f"/api/v1/orgs/{org_id}/projects/{project['id']}"
        d = f"{p}/documents/{doc['id']}"
        responses += [
            await client.get(p, headers=h),
            await client.patch(p, json={"name": "B"}, headers=h),
            await client.delete(p, headers=h),
            await client.get(f"{p}/documents", headers=h),
            await client.post(f"{p}/documents", json={"title": "B"}, headers=h),
            await client.get(d, headers=h),
            await client.patch(d, json={"title": "B"}, headers=h),
            await client.delete(d, headers=h),
        ]
    # Then every answer is 404 not_found, and A's data is as it was
    assert [r.status_code for r in responses] == [404] * len(responses)
    assert {r.json()["code"] for r in responses} == {"not_found"}
    assert (await client.get(f"{docs}/{doc['id']}", headers=ws.admin.headers)).json()[
        "title"
    ] == "A doc"
    assert (await client.get(f"{base}/{project['id']}", headers=ws.admin.headers)).json()[
        "name"
    ] == "A"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "organization_id": "00000000-0000-0000-0000-000000000000"},
        {"name": "x", "owner_id": "00000000-0000-0000-0000-000000000000"},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 201},
        {"name": "x", "team_id": "not-a-uuid"},
        {},
    ],
)
async def test_create_project__bad_body__422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, body: dict[str, object]
) -> None:
    ws = await make_workspace(db, settings)
    base = f"/api/v1/orgs/{ws.org.id}/projects"
    response = await client.post(base, json=body, headers=ws.admin.headers)
    assert response.status_code == 422, response.text
    assert (await client.get(base, headers=ws.admin.headers)).json()["items"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"title": "x", "owner_id": "00000000-0000-0000-0000-000000000000"},
        {"title": "x", "organization_id": "00000000-0000-0000-0000-000000000000"},
        {"title": "x", "project_id": "00000000-0000-0000-0000-000000000000"},
        {"title": "x", "classification": "top-secret"},
        {"title": "x", "tags": ["x" * 51]},
        {"title": "x", "tags": ["ok"] * 21},
        {"title": "x", "shared_with": ["bob"]},
        {"title": None},
    ],
)
async def test_create_document__bad_body__422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, body: dict[str, object]
) -> None:
    ws = await make_workspace(db, settings)
    project = (
        await client.post(
            f"/api/v1/orgs/{ws.org.id}/projects", json={"name": "P"}, headers=ws.admin.headers
        )
    ).json()
    docs = f"/api/v1/orgs/{ws.org.id}/projects/{project['id']}/documents"
    response = await client.post(docs, json=body, headers=ws.admin.headers)
    assert response.status_code == 422, response.text
    assert (await client.get(docs, headers=ws.admin.headers)).json()["items"] == []


async def test_update__null_for_required_or_unknown_team__422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    ws = await make_workspace(db, settings)
    base = f"/api/v1/orgs/{ws.org.id}/projects"
    project = (await client.post(base, json={"name": "P"}, headers=ws.admin.headers)).json()
    url = f"{base}/{project['id']}"
    assert (
        await client.patch(url, json={"name": None}, headers=ws.admin.headers)
    ).status_code == 422
    unknown = await client.patch(url, json={"team_id": str(ws.org.id)}, headers=ws.admin.headers)
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_team"
    doc = (
        await client.post(f"{url}/documents", json={"title": "D"}, headers=ws.admin.headers)
    ).json()
    bad = await client.patch(
        f"{url}/documents/{doc['id']}", json={"classification": None}, headers=ws.admin.headers
    )
    assert bad.status_code == 422


async def test_list__pagination_with_filter__cursor_walks_once(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given 5 public and 2 internal documents
    ws = await make_workspace(db, settings)
    project = (
        await client.post(
            f"/api/v1/orgs/{ws.org.id}/projects", json={"name": "P"}, headers=ws.admin.headers
        )
    ).json()
    docs = f"/api/v1/orgs/{ws.org.id}/projects/{project['id']}/documents"
    for i in range(7):
        kind = "public" if i < 5 else "internal"
        await client.post(
            docs, json={"title": f"d{i}", "classification": kind}, headers=ws.admin.headers
        )
    # When walking public documents two at a time
    titles: list[str] = []
    params: dict[str, str | int] = {"classification": "public", "limit": 2}
    while True:
        page = (await client.get(docs, params=params, headers=ws.member.headers)).json()
        titles += [d["title"] for d in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    # Then each appears once, newest first; a forged cursor is a 422
    assert titles == ["d4", "d3", "d2", "d1", "d0"]
    forged = await client.get(
        docs, params={"cursor": "bm90LWEtY3Vyc29y"}, headers=ws.member.headers
    )
    assert forged.status_code == 422
