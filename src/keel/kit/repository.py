"""The base every repository builds on: one base statement per table, keyset pagination.

Pagination is by keyset, not offset: a page costs one index range scan however deep it is,
and rows inserted meanwhile neither repeat nor vanish. The cursor is the sort key of the last
row, base64url-encoded; it is opaque to clients and rejected with 422 when tampered with.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from keel.kit.db import Base
from keel.kit.errors import ValidationFailed
from keel.kit.schemas import PageParams
from keel.kit.tenancy import AccessibleOrgId

M = TypeVar("M", bound=Base)
Item = TypeVar("Item")


@dataclass(frozen=True)
class Window(Generic[Item]):
    """One page of rows (ORM rows, or read views of them); endpoints turn it into
    ``Page[<X>Read]``."""

    items: list[Item]
    next_cursor: str | None


class InvalidCursor(ValidationFailed):
    """The ``cursor`` parameter is not one Keel issued. Start again without it."""


class Repository(Generic[M]):
    model: ClassVar[type[Any]]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def base_statement(self) -> Select[M]:
        """Every query starts here; tenant repositories narrow it to one organization."""
        return select(self.model)

    async def get(self, id_: uuid.UUID) -> M | None:
        stmt = self.base_statement().where(self.model.id == id_)
        result: M | None = await self.session.scalar(stmt)
        return result

    async def add(self, obj: M) -> M:
        self.session.add(obj)
        await self.session.flush()
        return obj

    async def paginate(
        self,
        stmt: Select[M],
        page: PageParams,
        *,
        order_by: InstrumentedAttribute[Any] | None = None,
        descending: bool = True,
    ) -> Window[M]:
        """One page of ``stmt`` sorted by ``order_by`` then id (newest first by default;
        ids are UUIDv7, so sorting by id alone is creation order)."""
        keys = [order_by, self.model.id] if order_by is not None else [self.model.id]
        if page.cursor is not None:
            after = tuple_(*keys)
            values = decode_cursor(page.cursor, keys)
            # Bound with the columns' own types, so SQLite compares like with like.
            bound = tuple_(*(literal(v, type_=k.type) for v, k in zip(values, keys, strict=True)))
            stmt = stmt.where(after < bound if descending else after > bound)
        stmt = stmt.order_by(*(k.desc() if descending else k.asc() for k in keys))
        rows: list[M] = list((await self.session.scalars(stmt.limit(page.limit + 1))).all())
        items = rows[: page.limit]
        has_more = len(rows) > page.limit
        next_cursor = encode_cursor([getattr(items[-1], k.key) for k in keys]) if has_more else None
        return Window(items=items, next_cursor=next_cursor)


class TenantRepository(Repository[M]):
    """A repository of a tenant table: constructed with the typed proof of access, and every
    statement it builds is narrowed to that organization (GUIDE §3.2). Another tenant's row
    is simply not found."""

    def __init__(self, session: AsyncSession, org_id: AccessibleOrgId) -> None:
        super().__init__(session)
        self.org_id = org_id

    def base_statement(self) -> Select[M]:
        return select(self.model).where(self.model.organization_id == self.org_id)

    async def add(self, obj: M) -> M:
        row: Any = obj  # every tenant model has organization_id
        if row.organization_id is None:
            row.organization_id = self.org_id
        elif row.organization_id != self.org_id:
            raise ValueError("a tenant repository only adds rows of its own organization")
        return await super().add(obj)


def encode_cursor(values: list[Any]) -> str:
    """The opaque ``next_cursor`` of a keyset page: the last row's sort values."""
    plain = [
        v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, uuid.UUID) else v
        for v in values
    ]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, keys: list[InstrumentedAttribute[Any]]) -> list[Any]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(keys):
            raise ValueError("wrong shape")
        return [_coerce(value, key) for value, key in zip(raw, keys, strict=True)]
    except (ValueError, TypeError) as exc:
        raise invalid_cursor() from exc


def invalid_cursor() -> InvalidCursor:
    """The one refusal of a cursor this API did not issue (or one a caller narrowed further)."""
    return InvalidCursor(
        "The cursor is not valid; request the first page without one.",
        errors=[{"field": "query.cursor", "message": "not a cursor issued by this API"}],
    )


def _coerce(value: Any, key: InstrumentedAttribute[Any]) -> Any:
    python_type = key.type.python_type
    if python_type in (datetime, uuid.UUID) and not isinstance(value, str):
        raise TypeError(f"cursor value {value!r} is not text")
    if python_type is datetime:
        return datetime.fromisoformat(value)
    if python_type is uuid.UUID:
        return uuid.UUID(value)
    if not isinstance(value, python_type) or isinstance(value, bool) is not (python_type is bool):
        raise TypeError(f"cursor value {value!r} is not {python_type.__name__}")
    # What the database could not take would be a 500: a 64-bit integer, text without NUL.
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        raise ValueError("cursor integer out of range")
    if isinstance(value, str) and ("\x00" in value or len(value) > 1000):
        raise ValueError("cursor text not storable")
    return value
