"""The platform owner's view of accounts: search by a part of the email or name (wildcards
typed are letters), newest first, paged; counts; the newest sign-ups."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from keel.kit.schemas import PageParams
from keel.users import service
from tests.helpers.tenancy import make_user


async def test_search__email_or_name_part__newest_first_and_paged(db: AsyncSession) -> None:
    tag = uuid.uuid4().hex[:8]
    ada = await make_user(db, email=f"ada-{tag}@example.com", name="Ada")
    grace = await make_user(db, email=f"g-{tag}@example.com", name=f"Grace {tag}")
    await make_user(db, email=f"x{tag}@example.com", name="100% other")
    by_email = await service.search(db, query=f"ADA-{tag}", page=PageParams())
    by_name = await service.search(db, query=f"grace {tag}", page=PageParams())
    both = await service.search(db, query=f"-{tag}@", page=PageParams(limit=1))
    rest = await service.search(
        db, query=f"-{tag}@", page=PageParams(limit=1, cursor=both.next_cursor)
    )
    assert [u.id for u in by_email.items] == [ada.id]
    assert [u.id for u in by_name.items] == [grace.id]
    assert [u.id for u in both.items + rest.items] == [grace.id, ada.id]
    percent = await service.search(db, query="100% o", page=PageParams())
    assert [u.name for u in percent.items] == ["100% other"]
    assert (await service.search(db, query="10_%", page=PageParams())).items == []


async def test_count_and_newest(db: AsyncSession) -> None:
    before = await service.count(db)
    first = await make_user(db)
    second = await make_user(db)
    assert await service.count(db) == before + 2
    assert [u.id for u in await service.newest(db, limit=2)] == [second.id, first.id]
