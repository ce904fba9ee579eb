"""Test plumbing shared by the whole suite.

Backends: SQLite and in-process parts by default; PostgreSQL and Redis when
``KEEL_TEST_DATABASE_URL`` / ``KEEL_TEST_REDIS_URL`` name them. When a variable is set and its
service does not answer, the run stops at once with a message: it never silently falls back.

Isolation: one database per xdist worker, migrated once; each test runs inside a transaction
that is rolled back (``db``/``database``/``client``). Tests that need real commits (racing
workers, killed processes) use ``committed_database``, which empties the tables afterwards.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.config import Config
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from keel.auth.service.tokens import generate_signing_key
from keel.config import Settings
from keel.kit import tenancy
from keel.kit.broadcast import Broadcast, MemoryBroadcast, RedisBroadcast
from keel.kit.cache import Cache, MemoryCache, RedisCache
from keel.kit.db import Database, create_engine
from keel.kit.deps import Resources
from keel.main import create_app
from keel.models import metadata

ROOT = Path(__file__).resolve().parents[1]
TEST_DATABASE_URL = os.environ.get("KEEL_TEST_DATABASE_URL") or None
TEST_REDIS_URL = os.environ.get("KEEL_TEST_REDIS_URL") or None
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
TEST_SIGNING_KEY = generate_signing_key()

#: Tables whose rows the migrations seed (the plan catalog): kept by ``committed_database``.
SEEDED_TABLES = frozenset({"plans"})
#: Tables the runtime role may not empty on PostgreSQL (the append-only audit trail, ADR
#: 0015): ``committed_database`` empties them as the owner.
APPEND_ONLY_TABLES = frozenset({"audit_logs", "audit_chains"})

requires_postgres = pytest.mark.skipif(
    TEST_DATABASE_URL is None, reason="PostgreSQL-only: set KEEL_TEST_DATABASE_URL to run"
)
requires_redis = pytest.mark.skipif(
    TEST_REDIS_URL is None, reason="Redis-only: set KEEL_TEST_REDIS_URL to run"
)


def pytest_report_header() -> list[str]:
    return [
        f"keel database: {'PostgreSQL ' + TEST_DATABASE_URL if TEST_DATABASE_URL else 'SQLite'}",
        f"keel redis: {TEST_REDIS_URL or 'in-process'}",
    ]


def pytest_sessionstart(session: pytest.Session) -> None:
    problems = asyncio.run(_unreachable_services())
    if problems:
        pytest.exit("\n".join(problems), returncode=3)


async def _unreachable_services() -> list[str]:
    problems = []
    if TEST_DATABASE_URL:
        try:
            engine = create_async_engine(TEST_DATABASE_URL, connect_args={"timeout": 5})
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            await engine.dispose()
        except Exception as exc:
            problems.append(
                f"KEEL_TEST_DATABASE_URL={TEST_DATABASE_URL} is set but PostgreSQL does not "
                f"answer ({type(exc).__name__}: {exc}). Start it, or unset the variable to "
                "test on SQLite."
            )
    if TEST_REDIS_URL:
        from redis.asyncio import Redis

        client = Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=5)
        try:
            await client.ping()
        except Exception as exc:
            problems.append(
                f"KEEL_TEST_REDIS_URL={TEST_REDIS_URL} is set but Redis does not answer "
                f"({type(exc).__name__}: {exc}). Start it, or unset the variable to test "
                "with the in-process cache."
            )
        finally:
            await client.aclose()
    return problems


@pytest.fixture(scope="session")
def run_tag(worker_id: str, request: pytest.FixtureRequest) -> str:
    """Unique per test run and worker, so parallel runs on one machine never share state."""
    workerinput: dict[str, Any] = getattr(request.config, "workerinput", {})
    run = str(workerinput.get("testrunuid", uuid.uuid4().hex))[:8]
    return f"{run}_{worker_id}"


#: On PostgreSQL the suite runs as this role, as production does: not superuser, not
#: BYPASSRLS, not the tables' owner, so row-level security is exercised by every test.
RUNTIME_ROLE = "keel_runtime_test"


@pytest.fixture(scope="session")
def database_url(run_tag: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The owner's URL (migrations); ``settings`` derives the runtime role's URL from it."""
    if TEST_DATABASE_URL is None:
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'keel.db'}"
        return
    name = f"keel_t_{run_tag}".lower()
    asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
    asyncio.run(
        _postgres_admin(
            f"DO $$ BEGIN CREATE ROLE {RUNTIME_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )
    )
    yield make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def runtime_url(owner_url: str) -> str:
    """The same database as the runtime role (PostgreSQL); SQLite has one user."""
    url = make_url(owner_url)
    if url.get_backend_name() == "sqlite":
        return owner_url
    return url.set(username=RUNTIME_ROLE, password=None).render_as_string(hide_password=False)


async def _postgres_admin(statement: str) -> None:
    assert TEST_DATABASE_URL is not None
    engine = create_async_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(statement))
    await engine.dispose()


def make_settings(
    database_url: str, data_dir: Path, redis_prefix: str, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "secret_key": TEST_SECRET,
        "data_dir": data_dir,
        "database": {"url": runtime_url(database_url), "migration_url": database_url},
        "redis": {"url": TEST_REDIS_URL, "prefix": redis_prefix},
        "jobs": {"concurrency": 1, "poll_interval": 0.05, "backoff_base": 0.01, "backoff_max": 0.1},
        "log": {"format": "json"},
        "auth": {"signing_keys": [TEST_SIGNING_KEY]},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(values.get(key), dict):
            values[key] = {**values[key], **value}
        else:
            values[key] = value
    return Settings(**values)


@pytest.fixture(scope="session")
def settings(database_url: str, run_tag: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(database_url, tmp_path_factory.mktemp("var"), f"keel:test:{run_tag}:")


def alembic_config(settings: Settings) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["settings"] = settings
    return config


@pytest.fixture(scope="session")
def migrated(settings: Settings) -> Settings:
    command.upgrade(alembic_config(settings), "head")
    return settings


@pytest.fixture(scope="session")
async def engine(migrated: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        outer = await conn.begin()
        yield conn
        if outer.is_active:
            await outer.rollback()


@pytest.fixture
def database(engine: AsyncEngine, connection: AsyncConnection) -> Database:
    """Every ``transaction()`` is a SAVEPOINT inside the test's rolled-back transaction."""
    return Database(engine, bind=connection)


@pytest.fixture
async def db(database: Database) -> AsyncIterator[AsyncSession]:
    async with database.sessionmaker() as session:
        yield session


@pytest.fixture
async def cache(settings: Settings) -> AsyncIterator[Cache]:
    if TEST_REDIS_URL is None:
        yield MemoryCache()
        return
    from redis.asyncio import Redis

    client = Redis.from_url(TEST_REDIS_URL)
    prefix = f"{settings.redis.prefix}{uuid.uuid4().hex[:8]}:"
    yield RedisCache(client, prefix=prefix)
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
async def broadcast(settings: Settings) -> AsyncIterator[Broadcast]:
    if TEST_REDIS_URL is None:
        yield MemoryBroadcast()
        return
    from redis.asyncio import Redis

    client = Redis.from_url(TEST_REDIS_URL)
    yield RedisBroadcast(client, prefix=f"{settings.redis.prefix}{uuid.uuid4().hex[:8]}:")
    await client.aclose()


@pytest.fixture
def resources(
    settings: Settings, database: Database, cache: Cache, broadcast: Broadcast
) -> Resources:
    return Resources(settings, database, cache, broadcast)


@pytest.fixture
async def app(settings: Settings, resources: Resources) -> AsyncIterator[FastAPI]:
    application = create_app(settings, resources=resources, run_worker=False)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def committed_database(engine: AsyncEngine, migrated: Settings) -> AsyncIterator[Database]:
    """Real commits, for concurrency tests; every table is emptied afterwards, except the
    reference data the migrations seed (:data:`SEEDED_TABLES`): tests must not commit
    changes to it."""
    database = Database(engine)
    yield database
    as_owner = engine.dialect.name == "postgresql"
    async with database.transaction() as session:
        await tenancy.enter_platform(session, reason="test cleanup empties every tenant")
        for table in reversed(metadata.sorted_tables):
            if table.name not in SEEDED_TABLES and not (
                as_owner and table.name in APPEND_ONLY_TABLES
            ):
                await session.execute(delete(table))
    if as_owner:
        assert migrated.database.migration_url is not None
        owner = create_async_engine(migrated.database.migration_url)
        async with owner.begin() as conn:
            for name in APPEND_ONLY_TABLES:
                await conn.execute(delete(metadata.tables[name]))
        await owner.dispose()


@pytest.fixture
def committed_resources(
    settings: Settings, committed_database: Database, cache: Cache, broadcast: Broadcast
) -> Resources:
    """Resources over ``committed_database`` (no per-test transaction held open)."""
    return Resources(settings, committed_database, cache, broadcast)
