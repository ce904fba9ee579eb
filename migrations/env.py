"""Alembic environment: one tree for every domain, async engine, batch mode on SQLite,
``lock_timeout`` on PostgreSQL so a migration waiting on a busy table fails fast instead of
stalling every query queued behind its lock."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import Connection, make_url, text

from keel.config import Settings, get_settings
from keel.kit.db import create_engine
from keel.models import include_in_autogenerate, metadata

config = context.config


def _settings() -> Settings:
    given = config.attributes.get("settings")
    return given if isinstance(given, Settings) else get_settings()


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=include_in_autogenerate,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=True,
    )


def _run_sync(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        timeout = int(_settings().database.lock_timeout_ms)
        connection.execute(text(f"SET lock_timeout = {timeout}"))
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()
        if connection.dialect.name == "postgresql":
            _grant_runtime_role(connection)


def _grant_runtime_role(connection: Connection) -> None:
    """Migrations run as the tables' owner; the runtime role (the user of KEEL_DATABASE__URL)
    gets data access only: never ownership, DDL, or writes to the migration history."""
    runtime = make_url(_settings().database_url).username
    owner = connection.execute(text("SELECT current_user")).scalar_one()
    if not runtime or runtime == owner:
        return
    role = connection.dialect.identifier_preparer.quote(runtime)
    for statement in (
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {role}",
    ):
        connection.execute(text(statement))
    _append_only_audit(connection, role)


def _append_only_audit(connection: Connection, role: str) -> None:
    """The audit trail is append-only for the runtime role (ADR 0015): entries leave only
    through keel_audit_purge, and a chain's anchor moves only with them. (Skipped below the
    revision that made it so.)"""
    if connection.execute(text("SELECT to_regclass('audit_chains')")).scalar() is None:
        return
    for statement in (
        f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_logs FROM {role}",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_chains FROM {role}",
        f"GRANT UPDATE (seq, hash) ON audit_chains TO {role}",
        f"GRANT EXECUTE ON FUNCTION keel_audit_purge(uuid, integer) TO {role}",
    ):
        connection.execute(text(statement))


async def _run_online() -> None:
    connection: Any = config.attributes.get("connection")
    if connection is not None:
        await connection.run_sync(_run_sync)
        return
    engine = create_engine(_settings().for_migrations())
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run_sync)
            await conn.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=_settings().for_migrations().database_url, target_metadata=metadata, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
