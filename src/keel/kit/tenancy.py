"""Which tenant the current transaction works for: the second wall, PostgreSQL row-level
security (ADR 0009).

The values are set with ``set_config(name, value, is_local => true)``: they end with the
transaction, so a pooled connection never carries one tenant into the next request (a bare
``SET`` would). A transaction that sets nothing sees no tenant row at all. SQLite has no RLS;
there the values are only remembered on the session, and the code's own tenant filter (the
typed proof in every tenant repository) is the one wall.

Three scopes, each a policy clause in the migrations:

- ``keel.org_id``: rows of that organization;
- ``keel.user_id``: the user's own memberships (and the organizations they belong to), which
  is how "my organizations" is listed across tenants;
- ``keel.platform = on``: every row. Only for operations that are cross-tenant by nature — a
  superadmin, a credential lookup by its secret, a job sweeping all tenants. Each caller says
  why, and ``grep enter_platform`` lists them all.
"""

from __future__ import annotations

import uuid
from typing import Any, NewType

from sqlalchemy import String, bindparam, event, func, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.sql.expression import Executable

#: An organization id the current actor was proven to reach. Tenant repositories take only
#: this; ``keel.organizations.service.access.open_org`` alone produces it.
AccessibleOrgId = NewType("AccessibleOrgId", uuid.UUID)

ORG_SETTING = "keel.org_id"
USER_SETTING = "keel.user_id"
PLATFORM_SETTING = "keel.platform"
_INFO_KEY = "keel.tenancy"
_BEGUN_KEY = "keel.tenancy.begun"


async def enter_tenant(
    session: AsyncSession, org_id: uuid.UUID, *, user_id: uuid.UUID | None = None
) -> None:
    await _apply(session, {ORG_SETTING: str(org_id), USER_SETTING: _text(user_id)})


async def enter_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    await _apply(session, {USER_SETTING: str(user_id)})


async def enter_platform(session: AsyncSession, *, reason: str) -> None:
    """Lift tenant isolation for the rest of this transaction. ``reason`` documents the call
    site (and shows up in SQL logs as a comment-free, greppable argument)."""
    del reason
    await _apply(session, {PLATFORM_SETTING: "on"})


async def leave_platform(session: AsyncSession) -> None:
    """End an :func:`enter_platform` before the transaction does: call it right after the
    cross-tenant query, so the rest of the unit of work is tenant-scoped again."""
    await _apply(session, {PLATFORM_SETTING: ""})


def current(session: AsyncSession) -> dict[str, str]:
    """The values set in this session's current transaction (empty when none)."""
    entry = session.info.get(_INFO_KEY)
    if entry is None or entry[0] is not _root(session):
        return {}
    return dict(entry[1])


def _text(value: uuid.UUID | None) -> str:
    return "" if value is None else str(value)


def _root(session: AsyncSession | Session) -> SessionTransaction | None:
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    return sync.get_transaction()


async def _apply(session: AsyncSession, values: dict[str, str]) -> None:
    """Sent lazily: a transaction that has not touched the database yet sends the values
    together with its first statement (see :func:`_send_on_begin`), so a request answered
    from caches costs no round trip at all. Once the transaction holds a connection they are
    sent at once, and always, never skipped as "already set": another session sharing the
    connection's transaction (tests do) may have changed them since."""
    merged = {**current(session), **values}
    root = _root(session)
    if session.get_bind().dialect.name == "postgresql" and (
        root is None or session.info.get(_BEGUN_KEY) is root
    ):
        await session.execute(*_set_config(values))
        root = _root(session)  # the statement may have begun the transaction
    session.info[_INFO_KEY] = (root, merged)


@event.listens_for(Session, "after_begin")
def _send_on_begin(session: Session, transaction: SessionTransaction, connection: Any) -> None:
    """The transaction just took its connection: send the tenant recorded so far, before
    the statement that made it connect. (ORM events run inside SQLAlchemy's greenlet, where
    the synchronous ``execute`` drives the async driver.)"""
    if transaction.parent is not None:
        return
    session.info[_BEGUN_KEY] = transaction
    entry = session.info.get(_INFO_KEY)
    if entry is None or entry[0] is not transaction or connection.dialect.name != "postgresql":
        return
    connection.execute(*_set_config(entry[1]))


def _set_config(values: dict[str, str]) -> tuple[Executable, dict[str, str]]:
    names = tuple(values)
    params = {f"v{n}": value for n, value in enumerate(values.values())}
    return _set_config_statement(names), params


_STATEMENTS: dict[tuple[str, ...], Executable] = {}


def _set_config_statement(names: tuple[str, ...]) -> Executable:
    """``SELECT set_config(name, :v0, true), ...``, built once per set of names: on every
    tenant request, so neither the statement nor its cache key is rebuilt each time. The
    names are this module's constants; only the values are parameters."""
    statement = _STATEMENTS.get(names)
    if statement is None:
        calls = [
            func.set_config(literal(name), bindparam(f"v{n}", type_=String()), true())
            for n, name in enumerate(names)
        ]
        statement = _STATEMENTS[names] = select(*calls)
    return statement
