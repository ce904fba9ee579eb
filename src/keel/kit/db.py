"""Database plumbing: engine per backend, the declarative base, one transaction per unit of work.

Rule (GUIDE §3.1): a request or a job is one transaction, opened and committed by
:meth:`Database.transaction` at the edge. Services only ``flush()``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from keel.config import Settings
from keel.kit import clock
from keel.kit.broadcast import SESSION_KEY as BROADCAST_KEY
from keel.kit.broadcast import Broadcast
from keel.kit.ids import new_id
from keel.kit.near_cache import FLUSH_IS_VISIBLE_KEY, NearCache
from keel.kit.near_cache import INFO_KEY as NEAR_CACHE_KEY

# Deterministic constraint names: Alembic batch mode on SQLite needs them to alter tables.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: Execution option marking a connection whose transaction only reads.
READ_ONLY = "keel_read_only"


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JSONDocument(TypeDecorator[Any]):
    """JSON everywhere, stored as JSONB on PostgreSQL (indexable, compact)."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else JSON())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONDocument()}


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


def create_engine(settings: Settings) -> AsyncEngine:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        return _create_sqlite_engine(settings, url.database)
    return _create_postgres_engine(settings)


#: Pooled PostgreSQL connections older than this are replaced at their next checkout, so a
#: connection a proxy or firewall silently dropped does not live on in the pool.
POOL_RECYCLE_SECONDS = 1800


def _create_postgres_engine(settings: Settings) -> AsyncEngine:
    """No ``pool_pre_ping``: it costs a round trip on every checkout, i.e. on every request.
    A connection that died anyway (server restart, failover) fails its first statement with
    a disconnect error; SQLAlchemy then invalidates it and every pooled connection opened
    before it, so only the requests already holding one fail, and the next get fresh ones.
    ``pool_recycle`` retires connections before idle timeouts on the way can cut them."""
    db = settings.database
    server_settings = {"application_name": "keel"}
    if db.statement_timeout_ms:
        server_settings["statement_timeout"] = str(db.statement_timeout_ms)
    return create_async_engine(
        settings.database_url,
        pool_size=db.pool_size,
        max_overflow=db.max_overflow,
        pool_timeout=db.pool_timeout,
        pool_recycle=POOL_RECYCLE_SECONDS,
        echo=db.echo,
        connect_args={"server_settings": server_settings, "timeout": db.pool_timeout},
    )


def _create_sqlite_engine(settings: Settings, path: str | None) -> AsyncEngine:
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        settings.database_url,
        echo=settings.database.echo,
        connect_args={"timeout": settings.database.sqlite_busy_timeout_ms / 1000},
    )
    busy_ms = settings.database.sqlite_busy_timeout_ms

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when a transaction begins (needed for
        # SAVEPOINT and for BEGIN IMMEDIATE below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock up front: a deferred transaction that reads and then writes
        # can fail with SQLITE_BUSY at once, without waiting for busy_timeout. Read-only
        # units of work (GET requests) begin deferred, so readers never queue behind the one
        # write lock; AUTOCOMMIT connections (health checks) take no lock at all.
        options = conn.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return
        conn.exec_driver_sql("BEGIN" if options.get(READ_ONLY) else "BEGIN IMMEDIATE")

    return engine


@asynccontextmanager
async def unique_or_raise(session: AsyncSession, error: Exception) -> AsyncIterator[None]:
    """Run the block in a SAVEPOINT; a constraint violation raises ``error`` and leaves the
    rest of the transaction usable. The unique index is the real guard against a duplicate
    that slipped past any lookup (and, under RLS, other tenants' rows cannot be looked up)."""
    try:
        async with session.begin_nested():
            yield
    except IntegrityError:
        raise error from None


class Database:
    """An engine and the session factories bound to it; one per process (or per test).

    ``read_sessionmaker`` is for units of work that only read (GET requests): on SQLite they
    begin deferred instead of taking the write lock.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        bind: AsyncConnection | None = None,
        near: NearCache | None = None,
    ) -> None:
        self.engine = engine
        #: Hot rows of this database, kept per process (:mod:`keel.kit.near_cache`); its
        #: sessions' commits invalidate it.
        self.near = near or NearCache()
        info = {NEAR_CACHE_KEY: self.near}
        if bind is None:
            self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False, info=info)
            reader = engine.execution_options(**{READ_ONLY: True})
            self.read_sessionmaker = async_sessionmaker(reader, expire_on_commit=False, info=info)
        else:
            # Tests: every unit of work runs in a SAVEPOINT of one outer transaction, where
            # a flush is already visible to the others.
            self.sessionmaker = async_sessionmaker(
                bind=bind,
                expire_on_commit=False,
                join_transaction_mode="create_savepoint",
                info={**info, FLUSH_IS_VISIBLE_KEY: True},
            )
            self.read_sessionmaker = self.sessionmaker

    def use_broadcast(self, broadcast: Broadcast) -> None:
        """Sessions opened from now on announce their commits through ``broadcast``
        (:func:`keel.kit.broadcast.publish_after_commit`)."""
        for maker in (self.sessionmaker, self.read_sessionmaker):
            maker.configure(info={**maker.kw.get("info", {}), BROADCAST_KEY: broadcast})

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block ends, rolls back if it raises."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


@asynccontextmanager
async def standalone_transaction(settings: Settings) -> AsyncIterator[AsyncSession]:
    """One unit of work on a short-lived engine, for one-shot commands (CLI, scripts)."""
    database = Database(create_engine(settings))
    try:
        async with database.transaction() as session:
            yield session
    finally:
        await database.dispose()
