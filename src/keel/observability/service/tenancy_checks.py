"""The row-level security lines of ``keel doctor`` (ADR 0009).

On PostgreSQL, row-level security is the second wall between tenants, and it holds only if
three things are true of the runtime role (the user of ``KEEL_DATABASE__URL``) and the tables:

- the role is not a superuser and has no BYPASSRLS (both ignore every policy);
- the role neither owns a tenant table nor is a member of its owner (an owner may
  ``ALTER TABLE ... DISABLE ROW LEVEL SECURITY``);
- every tenant table has row-level security enabled *and* forced, and at least one policy.

:func:`read_facts` reads the facts; :func:`judge` turns them into doctor lines, one per
problem, each with its fix. SQLite has no row-level security: the check is reported skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import MetaData, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import String

from keel.observability.schemas import PreflightCheck

CHECK_NAME = "row-level security"
TENANT_COLUMN = "organization_id"
#: The tenant itself: its rows are the organizations, keyed by ``id``.
ROOT_TABLE = "organizations"
#: Tables that carry ``organization_id`` but are not tenant-owned. Each needs a reason; a new
#: table with the column is a tenant table (and is checked) unless it is listed here.
EXEMPT: dict[str, str] = {
    "audit_logs": "the audit trail also holds platform entries (organization_id NULL)",
    "events": "the outbox is drained by the worker across every tenant",
    "notifications": "a user's inbox: read by user_id; organization_id only says what about",
}
SQLITE_SKIPPED = "skipped: SQLite has no row-level security; isolation relies on the typed proof"
DOCS = "docs/tenancy.md"


@dataclass(frozen=True)
class RoleFacts:
    name: str
    superuser: bool
    bypassrls: bool


@dataclass(frozen=True)
class TableFacts:
    name: str
    enabled: bool
    forced: bool
    policies: int
    #: The runtime role is the owner or a member of the owning role.
    owned: bool
    owner: str


def tenant_tables(metadata: MetaData) -> tuple[str, ...]:
    """Every table with an ``organization_id`` column (less :data:`EXEMPT`), plus the
    organizations table, sorted."""
    names = {table.name for table in metadata.tables.values() if TENANT_COLUMN in table.c}
    return tuple(sorted((names - EXEMPT.keys()) | {ROOT_TABLE}))


_ROLE = text("SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
_TABLES = text(
    """
    SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
           (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies,
           pg_has_role(current_user, c.relowner, 'MEMBER') AS owned,
           pg_get_userbyid(c.relowner) AS owner
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
      AND c.relname = ANY(:names)
    ORDER BY c.relname
    """
).bindparams(bindparam("names", type_=ARRAY(String())))


async def read_facts(
    conn: AsyncConnection, tables: Sequence[str]
) -> tuple[RoleFacts, list[TableFacts]]:
    name, superuser, bypassrls = (await conn.execute(_ROLE)).one()
    rows = (await conn.execute(_TABLES, {"names": list(tables)})).all()
    return RoleFacts(name, superuser, bypassrls), [TableFacts(*row) for row in rows]


def judge(
    role: RoleFacts, tables: Sequence[TableFacts], *, expected: Sequence[str]
) -> list[PreflightCheck]:
    """One failing line per problem, each saying the fix; one ``ok`` line when none."""
    problems = [*_role_problems(role), *_ownership_problems(role, tables)]
    missing = sorted(set(expected) - {table.name for table in tables})
    if missing:
        problems.append(f"tenant tables missing: {_names(missing)}; run `keel migrate`")
    problems += [problem for table in tables for problem in _table_problems(table)]
    if problems:
        return [fail(problem) for problem in problems]
    exempt = ", ".join(f"{name} ({why})" for name, why in EXEMPT.items())
    detail = (
        f"enabled, forced and with policies on {len(tables)} tenant tables; role {role.name} "
        f"is not superuser, has no BYPASSRLS and owns none. Not tenant tables: {exempt}"
    )
    return [PreflightCheck(name=CHECK_NAME, status="ok", detail=detail)]


def _role_problems(role: RoleFacts) -> Iterable[str]:
    if role.superuser:
        yield (
            f"the runtime role {role.name} is a superuser, which ignores row-level security; "
            "connect KEEL_DATABASE__URL as a NOSUPERUSER NOBYPASSRLS role that does not own "
            f"the tables and keep the owner in KEEL_DATABASE__MIGRATION_URL (see {DOCS})"
        )
    if role.bypassrls:
        yield (
            f"the runtime role {role.name} has BYPASSRLS, which ignores row-level security; "
            f"as a superuser run: ALTER ROLE {role.name} NOBYPASSRLS"
        )


def _ownership_problems(role: RoleFacts, tables: Sequence[TableFacts]) -> Iterable[str]:
    owned = [table for table in tables if table.owned]
    if not owned:
        return
    owners = sorted({table.owner for table in owned})
    yield (
        f"the runtime role {role.name} owns (or is a member of the owner {_names(owners)} of) "
        f"tenant tables {_names(table.name for table in owned)}, so it could switch "
        "row-level security off; run migrations as a separate owner role "
        "(KEEL_DATABASE__MIGRATION_URL) and connect KEEL_DATABASE__URL as a role that is "
        f"neither that owner nor a member of it (see {DOCS})"
    )


def _table_problems(table: TableFacts) -> Iterable[str]:
    missing = [word for word, on in (("ENABLE", table.enabled), ("FORCE", table.forced)) if not on]
    if missing:
        fix = "; ".join(f"ALTER TABLE {table.name} {word} ROW LEVEL SECURITY" for word in missing)
        yield (
            f"tenant table {table.name} lacks {' and '.join(missing)} ROW LEVEL SECURITY, so "
            f"tenants are not isolated there; as the tables' owner run: {fix}"
        )
    if table.policies == 0:
        yield (
            f"tenant table {table.name} has no row-level security policy; restore its "
            "tenant_read and tenant_write policies as written in "
            "migrations/versions/*_organizations_tenancy.py"
        )


def _names(names: Iterable[str]) -> str:
    return ", ".join(names)


def skipped() -> PreflightCheck:
    """``ok``: the doctor has no "skipped" status, and SQLite is a supported mode."""
    return PreflightCheck(name=CHECK_NAME, status="ok", detail=SQLITE_SKIPPED)


def fail(detail: str) -> PreflightCheck:
    return PreflightCheck(name=CHECK_NAME, status="fail", detail=detail)
