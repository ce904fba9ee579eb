"""Keyset pagination: complete, non-overlapping pages in a stable order; tampered cursors
refused; page size bounded by the contract (1..100)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from keel.config import Settings
from keel.events.models import EventRecord
from keel.kit import clock
from keel.kit.deps import Resources
from keel.kit.repository import InvalidCursor, Repository, decode_cursor
from keel.kit.routing import api_router
from keel.kit.schemas import PageParams, Pagination
from keel.organizations.models import Organization
from tests.helpers.app import client_for


class EventRepository(Repository[EventRecord]):
    model = EventRecord


async def seed(db: AsyncSession, count: int) -> list[EventRecord]:
    start = clock.now()
    entries = [
        EventRecord(
            name=f"a.{i}",
            payload={},
            occurred_at=start + timedelta(seconds=i % 3),
        )
        for i in range(count)
    ]
    for entry in entries:
        await EventRepository(db).add(entry)
    return entries


async def walk(
    repo: EventRepository,
    limit: int,
    *,
    order_by: InstrumentedAttribute[Any] | None = None,
    descending: bool = True,
) -> list[list[EventRecord]]:
    pages: list[list[EventRecord]] = []
    cursor: str | None = None
    while True:
        page = await repo.paginate(
            repo.base_statement(),
            PageParams(limit=limit, cursor=cursor),
            order_by=order_by,
            descending=descending,
        )
        pages.append(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return pages


async def test_paginate__by_id__every_row_once_newest_first(db: AsyncSession) -> None:
    entries = await seed(db, 23)
    pages = await walk(EventRepository(db), 10)
    assert [len(p) for p in pages] == [10, 10, 3]
    assert [e.id for p in pages for e in p] == [e.id for e in reversed(entries)]


async def test_paginate__by_time_with_ties__stable_and_complete(db: AsyncSession) -> None:
    entries = await seed(db, 17)
    pages = await walk(EventRepository(db), 4, order_by=EventRecord.occurred_at, descending=False)
    seen = [e for p in pages for e in p]
    assert sorted(e.id for e in seen) == sorted(e.id for e in entries)
    assert [(e.occurred_at, e.id) for e in seen] == sorted((e.occurred_at, e.id) for e in entries)


async def test_paginate__exact_multiple__no_empty_last_page(db: AsyncSession) -> None:
    await seed(db, 6)
    assert [len(p) for p in await walk(EventRepository(db), 3)] == [3, 3]


@pytest.mark.parametrize("cursor", ["garbage!!", "WzFd", "eyJhIjogMX0", "WyJub3QtYS11dWlkIl0"])
async def test_paginate__tampered_cursor__invalid_cursor(db: AsyncSession, cursor: str) -> None:
    repo = EventRepository(db)
    with pytest.raises(InvalidCursor):
        await repo.paginate(repo.base_statement(), PageParams(limit=5, cursor=cursor))


def forged(*values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


@pytest.mark.parametrize("text", ["a\u0000b", "x" * 2000])
async def test_paginate__forged_text_cursor_the_database_cannot_take__invalid_cursor(
    db: AsyncSession, text: str
) -> None:
    # Given a list ordered by a text column, When a forged cursor carries what no row could
    # hold (PostgreSQL refuses U+0000 with an error), Then a clean InvalidCursor, never a 500
    repo = EventRepository(db)
    cursor = forged(text, str(uuid.uuid4()))
    with pytest.raises(InvalidCursor):
        await repo.paginate(
            repo.base_statement(), PageParams(limit=5, cursor=cursor), order_by=EventRecord.name
        )


@pytest.mark.parametrize("number", [2**70, -(2**64), True])
def test_decode_cursor__integer_out_of_range_or_bool__invalid_cursor(number: object) -> None:
    keys = [Organization.access_version, Organization.id]
    with pytest.raises(InvalidCursor):
        decode_cursor(forged(number, str(uuid.uuid4())), keys)


probe = api_router()


@probe.get("/probe/page")
async def page_probe(page: Pagination) -> dict[str, object]:
    return {"limit": page.limit, "cursor": page.cursor}


@pytest.fixture
async def client_with_probe(
    settings: Settings, resources: Resources
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(settings, resources, probe) as c:
        yield c


@pytest.mark.parametrize(
    ("query", "status"),
    [("", 200), ("?limit=100", 200), ("?limit=101", 422), ("?limit=0", 422), ("?limit=x", 422)],
)
async def test_pagination_params__contract_bounds(
    client_with_probe: httpx.AsyncClient, query: str, status: int
) -> None:
    response = await client_with_probe.get(f"/api/v1/probe/page{query}")
    assert response.status_code == status
    if status == 200:
        assert response.json()["limit"] == (100 if "100" in query else 20)
    else:
        assert response.json()["errors"][0]["field"] == "query.limit"
