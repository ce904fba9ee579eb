"""``keel doctor``'s row-level security lines (ADR 0009): the pure judgement, table-driven, and
the doctor end to end on PostgreSQL — the suite's runtime role, the owner's superuser URL, and
a throwaway database whose tables and roles a test may break at will."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from keel.config import Settings
from keel.models import metadata
from keel.observability.service import tenancy_checks
from keel.observability.service.tenancy_checks import RoleFacts, TableFacts, judge
from tests.conftest import (
    RUNTIME_ROLE,
    TEST_DATABASE_URL,
    _postgres_admin,
    alembic_config,
    make_settings,
    requires_postgres,
)
from tests.observability.test_doctor import keel_env, migrate_to_head, run_doctor

__all__ = ["keel_env"]  # a fixture, imported so pytest finds it here

TENANT_TABLES = (
    "access_policies",
    "api_keys",
    "custom_roles",
    "documents",
    "invitations",
    "memberships",
    "organizations",
    "plan_overrides",
    "projects",
    "teams",
    "usage_counters",
    "webhook_attempts",
    "webhook_deliveries",
    "webhook_endpoints",
    "webhook_messages",
)
RUNTIME = RoleFacts("keel_app", superuser=False, bypassrls=False)


def table(
    name: str = "projects",
    *,
    enabled: bool = True,
    forced: bool = True,
    policies: int = 2,
    owned: bool = False,
) -> TableFacts:
    return TableFacts(name, enabled, forced, policies, owned, owner="keel_owner")


def rls_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("✗ row-level security:")]


# --- which tables are tenant tables -----------------------------------------------------------


def test_tenant_tables__whole_schema__organization_id_tables_plus_organizations() -> None:
    assert tenancy_checks.tenant_tables(metadata) == TENANT_TABLES


def test_exempt_tables__each_exists_with_organization_id__no_stale_exemption() -> None:
    for name in tenancy_checks.EXEMPT:
        assert name in metadata.tables, f"{name} is exempt but no longer exists"
        assert "organization_id" in metadata.tables[name].c, f"{name} has no organization_id"


# --- judge (pure) ------------------------------------------------------------------------------


def test_judge__sound_role_and_tables__one_ok_line() -> None:
    checks = judge(RUNTIME, [table("projects"), table("teams")], expected=["projects", "teams"])
    assert [(c.name, c.status) for c in checks] == [("row-level security", "ok")]
    assert "keel_app" in checks[0].detail and "2 tenant tables" in checks[0].detail


@pytest.mark.parametrize(
    ("role", "facts", "expected_fragments"),
    [
        (
            RoleFacts("keel_app", superuser=True, bypassrls=False),
            table(),
            ["keel_app is a superuser", "NOSUPERUSER NOBYPASSRLS", "KEEL_DATABASE__URL"],
        ),
        (
            RoleFacts("keel_app", superuser=False, bypassrls=True),
            table(),
            ["has BYPASSRLS", "ALTER ROLE keel_app NOBYPASSRLS"],
        ),
        (RUNTIME, table(owned=True), ["owns", "projects", "KEEL_DATABASE__MIGRATION_URL"]),
        (RUNTIME, table(enabled=False), ["ALTER TABLE projects ENABLE ROW LEVEL SECURITY"]),
        (RUNTIME, table(forced=False), ["ALTER TABLE projects FORCE ROW LEVEL SECURITY"]),
        (RUNTIME, table(policies=0), ["projects has no row-level security policy"]),
    ],
)
def test_judge__one_problem__one_failing_line_with_its_fix(
    role: RoleFacts, facts: TableFacts, expected_fragments: list[str]
) -> None:
    checks = judge(role, [facts], expected=["projects"])
    assert [c.status for c in checks] == ["fail"]
    for fragment in expected_fragments:
        assert fragment in checks[0].detail


def test_judge__several_problems__one_line_each() -> None:
    role = RoleFacts("keel_app", superuser=True, bypassrls=True)
    facts = [table("projects", enabled=False, forced=False, policies=0), table("teams")]
    checks = judge(role, facts, expected=["projects", "teams", "documents"])
    details = [c.detail for c in checks]
    assert len(details) == 5 and all(c.status == "fail" for c in checks)
    assert any("tenant tables missing: documents" in d and "keel migrate" in d for d in details)
    assert any("lacks ENABLE and FORCE ROW LEVEL SECURITY" in d for d in details)


# --- SQLite ------------------------------------------------------------------------------------


def test_doctor__sqlite__row_level_security_reported_skipped(
    keel_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a migrated SQLite database and a terminal wide enough not to wrap the table
    migrate_to_head()
    monkeypatch.setenv("COLUMNS", "250")
    # When the doctor runs
    result = run_doctor()
    # Then the row-level security line says it was skipped, and why
    assert result.exit_code == 0, result.output
    row = next(ln for ln in result.output.splitlines() if "row-level security" in ln)
    assert "skipped: SQLite has no row-level security; isolation relies on the typed proof" in row


# --- PostgreSQL --------------------------------------------------------------------------------


def use_database(monkeypatch: pytest.MonkeyPatch, *, url: str, migration_url: str) -> None:
    monkeypatch.setenv("KEEL_DATABASE__URL", url)
    monkeypatch.setenv("KEEL_DATABASE__MIGRATION_URL", migration_url)


@requires_postgres
def test_doctor__suite_runtime_role__passes(
    keel_env: Path, migrated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the suite's migrated database and its runtime role
    assert migrated.database.url and migrated.database.migration_url
    use_database(
        monkeypatch, url=migrated.database.url, migration_url=migrated.database.migration_url
    )
    # When the doctor runs
    result = run_doctor()
    # Then it passes, row-level security included
    assert result.exit_code == 0, result.output
    assert "row-level security" in result.output
    assert not rls_lines(result.output)


@requires_postgres
def test_doctor__superuser_owner_url__fails_naming_superuser_and_ownership(
    keel_env: Path, migrated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given KEEL_DATABASE__URL naming the tables' owner, a superuser
    owner = migrated.database.migration_url
    assert owner is not None
    use_database(monkeypatch, url=owner, migration_url=owner)
    # When the doctor runs
    result = run_doctor()
    # Then it exits 1 with one line for the superuser and one for the ownership
    assert result.exit_code == 1, result.output
    lines = rls_lines(result.output)
    assert any("is a superuser" in line and "NOSUPERUSER NOBYPASSRLS" in line for line in lines)
    assert any("owns" in line and "organizations" in line for line in lines)


@pytest.fixture
def throwaway_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """The owner's URL of a database of this test's own, migrated to head; dropped after.
    (``database_url`` makes sure the suite's runtime role exists.)"""
    assert TEST_DATABASE_URL is not None
    name = f"keel_rlsdoc_{uuid.uuid4().hex[:12]}"
    asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
    try:
        owner_url = make_url(TEST_DATABASE_URL).set(database=name)
        url = owner_url.render_as_string(hide_password=False)
        settings = make_settings(url, tmp_path / "migrate", f"keel:rlsdoc:{name}:")
        command.upgrade(alembic_config(settings), "head")
        yield url
    finally:
        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def as_role(url: str, role: str) -> str:
    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)


async def run_as_owner(url: str, *statements: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))
    await engine.dispose()


@requires_postgres
def test_doctor__rls_disabled_forced_off_and_policy_dropped__fails_one_line_each(
    keel_env: Path, throwaway_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a throwaway database where the owner weakened three tables
    asyncio.run(
        run_as_owner(
            throwaway_database,
            "ALTER TABLE projects DISABLE ROW LEVEL SECURITY",
            "ALTER TABLE teams NO FORCE ROW LEVEL SECURITY",
            "DROP POLICY tenant_read ON custom_roles",
            "DROP POLICY tenant_write ON custom_roles",
        )
    )
    runtime = as_role(throwaway_database, RUNTIME_ROLE)
    use_database(monkeypatch, url=runtime, migration_url=throwaway_database)
    # When the doctor runs as the runtime role
    result = run_doctor()
    # Then it exits 1 with one line per weakened table, each with its fix
    assert result.exit_code == 1, result.output
    lines = rls_lines(result.output)
    assert len(lines) == 3, result.output
    for fragment in (
        "custom_roles has no row-level security policy",
        "ALTER TABLE projects ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE teams FORCE ROW LEVEL SECURITY",
    ):
        assert sum(fragment in line for line in lines) == 1, (fragment, lines)


@requires_postgres
def test_doctor__bypassrls_role_owning_a_table__fails_one_line_each(
    keel_env: Path, throwaway_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a throwaway role with BYPASSRLS that owns one tenant table
    role = f"keel_rlsdoc_{uuid.uuid4().hex[:12]}"
    asyncio.run(_postgres_admin(f"CREATE ROLE {role} LOGIN NOSUPERUSER BYPASSRLS"))
    try:
        asyncio.run(run_as_owner(throwaway_database, f"ALTER TABLE documents OWNER TO {role}"))
        use_database(
            monkeypatch, url=as_role(throwaway_database, role), migration_url=throwaway_database
        )
        # When the doctor runs as that role
        result = run_doctor()
        # Then it names both problems
        assert result.exit_code == 1, result.output
        lines = rls_lines(result.output)
        assert any(f"ALTER ROLE {role} NOBYPASSRLS" in line for line in lines), lines
        assert any("owns" in line and "documents" in line for line in lines), lines
    finally:
        asyncio.run(run_as_owner(throwaway_database, f"REASSIGN OWNED BY {role} TO CURRENT_USER"))
        asyncio.run(_postgres_admin(f"DROP ROLE IF EXISTS {role}"))
