"""Row-level security, the second wall (ADR 0009), proven on PostgreSQL as the suite's runtime
role: the flags on every tenant table, the role's attributes, and what a transaction sees for
each tenant setting — including across one pooled connection reused by every transaction.

Tests that need separate transactions use ``committed_database`` (real commits; it empties
every table afterwards). SQLite has no row-level security: those tests are skipped there.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from keel.config import Settings
from keel.kit import tenancy
from keel.kit.db import Database
from keel.models import metadata
from keel.observability.service.tenancy_checks import tenant_tables
from keel.projects.models import Project
from tests.conftest import RUNTIME_ROLE, requires_postgres
from tests.helpers.tenancy import add_member, make_org, make_user

TENANT_TABLES = tenant_tables(metadata)


@dataclass(frozen=True)
class TwoTenants:
    org_a: uuid.UUID
    org_b: uuid.UUID
    user_a: uuid.UUID
    user_b: uuid.UUID


async def seed(database: Database) -> TwoTenants:
    """Two organizations with an admin and a project each; user A is also a member of B."""
    async with database.transaction() as session:
        user_a, user_b = await make_user(session), await make_user(session)
        org_a, org_b = await make_org(session, user_a), await make_org(session, user_b)
        await add_member(session, org_b, user_a)
        for org in (org_a, org_b):
            await tenancy.enter_tenant(session, org.id)
            session.add(Project(organization_id=org.id, name=f"Project of {org.name}"))
            await session.flush()
        return TwoTenants(org_a.id, org_b.id, user_a.id, user_b.id)


async def visible_orgs(session: AsyncSession, table: str) -> list[uuid.UUID]:
    column = "id" if table == "organizations" else "organization_id"
    rows = await session.execute(text(f"SELECT {column} FROM {table}"))
    return list(rows.scalars())


async def count_tenant_rows(session: AsyncSession) -> dict[str, int]:
    return {table: len(await visible_orgs(session, table)) for table in TENANT_TABLES}


@pytest.fixture
async def tenants(committed_database: Database) -> TwoTenants:
    return await seed(committed_database)


# --- on every backend --------------------------------------------------------------------------


async def test_current__after_commit__new_transaction_starts_with_no_tenant(
    committed_database: Database,
) -> None:
    # Given a session that entered a tenant in one transaction
    org_id = uuid.uuid4()
    async with committed_database.sessionmaker() as session:
        async with session.begin():
            await tenancy.enter_tenant(session, org_id)
            assert tenancy.current(session)[tenancy.ORG_SETTING] == str(org_id)
        # When the next transaction of the same session begins
        async with session.begin():
            # Then it carries no tenant
            assert tenancy.current(session) == {}


# --- PostgreSQL: flags and role ----------------------------------------------------------------


@requires_postgres
async def test_tenant_tables__every_one__rls_enabled_and_forced(db: AsyncSession) -> None:
    rows = await db.execute(
        text(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relname = ANY(:names) AND relkind = 'r' "
            "AND relnamespace = current_schema()::regnamespace"
        ),
        {"names": list(TENANT_TABLES)},
    )
    flags = {name: (enabled, forced) for name, enabled, forced in rows}
    assert set(flags) == set(TENANT_TABLES)
    assert {name for name, pair in flags.items() if pair != (True, True)} == set()


@requires_postgres
async def test_runtime_role__attributes__not_super_not_bypassrls_owns_no_tenant_table(
    db: AsyncSession,
) -> None:
    role = (
        await db.execute(
            text(
                "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
            )
        )
    ).one()
    assert tuple(role) == (RUNTIME_ROLE, False, False)
    owned = await db.execute(
        text(
            "SELECT relname FROM pg_class WHERE relname = ANY(:names) "
            "AND pg_has_role(current_user, relowner, 'MEMBER')"
        ),
        {"names": list(TENANT_TABLES)},
    )
    assert list(owned.scalars()) == []


# --- PostgreSQL: what each setting sees --------------------------------------------------------


@requires_postgres
async def test_no_tenant_set__any_tenant_table__zero_rows(
    committed_database: Database, tenants: TwoTenants
) -> None:
    async with committed_database.transaction() as session:
        counts = await count_tenant_rows(session)
    assert counts == dict.fromkeys(TENANT_TABLES, 0)


@requires_postgres
async def test_tenant_a__every_tenant_table__only_a_rows(
    committed_database: Database, tenants: TwoTenants
) -> None:
    async with committed_database.transaction() as session:
        await tenancy.enter_tenant(session, tenants.org_a)
        seen = {table: set(await visible_orgs(session, table)) for table in TENANT_TABLES}
    assert seen["organizations"] == {tenants.org_a}
    assert seen["projects"] == {tenants.org_a}
    assert seen["memberships"] == {tenants.org_a}
    assert all(orgs <= {tenants.org_a} for orgs in seen.values()), seen


@requires_postgres
async def test_tenant_a__insert_row_of_b__with_check_violation(
    committed_database: Database, tenants: TwoTenants
) -> None:
    with pytest.raises(DBAPIError, match="row-level security"):
        async with committed_database.transaction() as session:
            await tenancy.enter_tenant(session, tenants.org_a)
            session.add(Project(organization_id=tenants.org_b, name="Smuggled"))
            await session.flush()


@requires_postgres
async def test_tenant_a__move_own_row_to_b__with_check_violation(
    committed_database: Database, tenants: TwoTenants
) -> None:
    with pytest.raises(DBAPIError, match="row-level security"):
        async with committed_database.transaction() as session:
            await tenancy.enter_tenant(session, tenants.org_a)
            await session.execute(
                text("UPDATE projects SET organization_id = :b WHERE organization_id = :a"),
                {"a": tenants.org_a, "b": tenants.org_b},
            )


@requires_postgres
async def test_tenant_a__update_rows_of_b__touches_none(
    committed_database: Database, tenants: TwoTenants
) -> None:
    async with committed_database.transaction() as session:
        await tenancy.enter_tenant(session, tenants.org_a)
        result = await session.execute(
            text("UPDATE projects SET name = 'Renamed' WHERE organization_id = :b RETURNING id"),
            {"b": tenants.org_b},
        )
        updated = list(result.scalars())
    assert updated == []


@requires_postgres
async def test_user_setting__memberships__only_the_users_own(
    committed_database: Database, tenants: TwoTenants
) -> None:
    # Given user A, admin of A and member of B (where user B is admin)
    async with committed_database.transaction() as session:
        # When a transaction sets only keel.user_id
        await tenancy.enter_user(session, tenants.user_a)
        rows = await session.execute(text("SELECT user_id, organization_id FROM memberships"))
        memberships = {(user_id, org_id) for user_id, org_id in rows}
        orgs = set(await visible_orgs(session, "organizations"))
        projects = await visible_orgs(session, "projects")
    # Then it sees A's own memberships and their organizations, nothing else
    assert memberships == {(tenants.user_a, tenants.org_a), (tenants.user_a, tenants.org_b)}
    assert orgs == {tenants.org_a, tenants.org_b}
    assert projects == []


@requires_postgres
async def test_platform__every_tenant_table__all_rows(
    committed_database: Database, tenants: TwoTenants
) -> None:
    async with committed_database.transaction() as session:
        await tenancy.enter_platform(session, reason="test: the platform sees every tenant")
        orgs = set(await visible_orgs(session, "organizations"))
        projects = set(await visible_orgs(session, "projects"))
    assert {tenants.org_a, tenants.org_b} <= orgs
    assert {tenants.org_a, tenants.org_b} <= projects


# --- PostgreSQL: one pooled connection, many transactions --------------------------------------


@pytest.fixture
async def one_connection(migrated: Settings) -> AsyncIterator[Database]:
    """The runtime role's database behind a pool of exactly one connection."""
    assert migrated.database.url is not None
    engine: AsyncEngine = create_async_engine(migrated.database.url, pool_size=1, max_overflow=0)
    yield Database(engine)
    await engine.dispose()


async def backend_and_projects(session: AsyncSession) -> tuple[int, set[uuid.UUID]]:
    pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    return pid, set(await visible_orgs(session, "projects"))


@requires_postgres
async def test_pooled_connection__interleaved_tenants_and_a_failure__no_leak(
    one_connection: Database, tenants: TwoTenants
) -> None:
    seen: list[tuple[int, set[uuid.UUID]]] = []
    # Given one pooled connection, When tenants A, B and none take turns on it
    for org_id in (tenants.org_a, tenants.org_b, None, tenants.org_a):
        async with one_connection.transaction() as session:
            if org_id is not None:
                await tenancy.enter_tenant(session, org_id)
            seen.append(await backend_and_projects(session))
    # And a transaction fails after entering tenant A
    with pytest.raises(RuntimeError, match="mid-transaction"):
        async with one_connection.transaction() as session:
            await tenancy.enter_tenant(session, tenants.org_a)
            seen.append(await backend_and_projects(session))
            raise RuntimeError("failure mid-transaction")
    # And then a transaction sets no tenant
    async with one_connection.transaction() as session:
        seen.append(await backend_and_projects(session))
        leftover = (
            await session.execute(text("SELECT current_setting('keel.org_id', true)"))
        ).scalar_one()
    # Then every transaction ran on the same connection and saw only its own tenant
    assert len({pid for pid, _ in seen}) == 1
    a, b = {tenants.org_a}, {tenants.org_b}
    assert [orgs for _, orgs in seen] == [a, b, set(), a, a, set()]
    assert leftover in (None, "")
