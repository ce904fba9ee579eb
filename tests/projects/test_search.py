"""Full-text search (``q``): ranked on both backends, never a 500 whatever the input."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from tests.projects.builders import Workspace, make_workspace

TRICKY = [
    '"foo',
    "*",
    "AND OR",
    "NOT",
    "foo AND",
    "(",
    ")",
    "title:foo",
    "foo^2",
    "-",
    "--",
    "'",
    "\\",
    "東京 ünïcødé",
    "🚀",
    "NEAR(a b)",
    '"',
    "a" * 200,
    "foo*",
    "%",
    "_",
    "; DROP TABLE documents",
]


async def _setup(client: httpx.AsyncClient, ws: Workspace) -> str:
    project = (
        await client.post(
            f"/api/v1/orgs/{ws.org.id}/projects", json={"name": "P"}, headers=ws.admin.headers
        )
    ).json()
    docs = f"/api/v1/orgs/{ws.org.id}/projects/{project['id']}/documents"
    for title, body in (
        ("Rocket engines", "How rocket engines burn fuel"),
        ("Gardening", "Tomatoes and a single mention of rocket salad"),
        ("Rockets", "rocket rocket rocket launch"),
        ("Cooking", "Nothing to see here"),
    ):
        created = await client.post(
            docs, json={"title": title, "body": body}, headers=ws.admin.headers
        )
        assert created.status_code == 201, created.text
    return docs


async def test_search__term__matches_ranked_title_first(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given documents mentioning "rocket" in title and body, once in a body, and not at all
    ws = await make_workspace(db, settings)
    docs = await _setup(client, ws)
    # When searching (stemmed: "rockets" finds "rocket")
    response = await client.get(docs, params={"q": "rockets"}, headers=ws.member.headers)
    # Then the matches only, the passing mention last
    assert response.status_code == 200, response.text
    titles = [d["title"] for d in response.json()["items"]]
    assert set(titles) == {"Rocket engines", "Rockets", "Gardening"}
    assert titles[-1] == "Gardening"


async def test_search__paged__cursor_follows_rank_without_repeats(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    ws = await make_workspace(db, settings)
    docs = await _setup(client, ws)
    whole = [
        d["id"]
        for d in (await client.get(docs, params={"q": "rocket"}, headers=ws.admin.headers)).json()[
            "items"
        ]
    ]
    # When paging one at a time
    seen: list[str] = []
    params: dict[str, str | int] = {"q": "rocket", "limit": 1}
    for _ in range(5):
        page = (await client.get(docs, params=params, headers=ws.admin.headers)).json()
        seen += [d["id"] for d in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    # Then the same order as one page
    assert seen == whole and len(seen) == 3


async def test_search__with_filter_and_scope__guest_only_shared(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    ws = await make_workspace(db, settings)
    docs = await _setup(client, ws)
    shared = {
        "title": "Rocket for guests",
        "shared_with": [str(ws.guest.user.id)],
        "classification": "public",
    }
    created = (await client.post(docs, json=shared, headers=ws.admin.headers)).json()
    response = await client.get(docs, params={"q": "rocket"}, headers=ws.guest.headers)
    assert [d["id"] for d in response.json()["items"]] == [created["id"]]
    filtered = await client.get(
        docs, params={"q": "rocket", "classification": "public"}, headers=ws.admin.headers
    )
    assert [d["id"] for d in filtered.json()["items"]] == [created["id"]]


@pytest.mark.parametrize("q", TRICKY)
async def test_search__tricky_input__never_500(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, q: str
) -> None:
    # Given some documents
    ws = await make_workspace(db, settings)
    docs = await _setup(client, ws)
    # When searching with input that is FTS syntax, SQL-looking or exotic
    response = await client.get(docs, params={"q": q}, headers=ws.admin.headers)
    # Then a normal answer, never an error
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["items"], list)


async def test_search__quoted_phrase_and_unicode__found(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    ws = await make_workspace(db, settings)
    docs = await _setup(client, ws)
    await client.post(
        docs, json={"title": "Café in Tōkyō", "body": "東京 naïve"}, headers=ws.admin.headers
    )
    for q in ('"rocket engines"', "café"):
        found = (await client.get(docs, params={"q": q}, headers=ws.admin.headers)).json()["items"]
        assert found, q


async def test_search__too_long_or_empty__422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    ws = await make_workspace(db, settings)
    docs = await _setup(client, ws)
    for q in ("", "x" * 201):
        assert (
            await client.get(docs, params={"q": q}, headers=ws.admin.headers)
        ).status_code == 422
    bad_cursor = await client.get(
        docs, params={"q": "rocket", "cursor": "WzEsMl0"}, headers=ws.admin.headers
    )
    assert bad_cursor.status_code == 422
