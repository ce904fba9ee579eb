"""``keel create-superadmin`` against a committed SQLite database."""

from __future__ import annotations

import re

from sqlalchemy import select

from keel.audit.models import AuditLog
from keel.config import Settings
from keel.kit import security
from keel.users.models import User
from tests.cli.conftest import Cli
from tests.cli.support import committed, run

STRONG = "correct horse battery staple 42!"


async def stored_user(settings: Settings, email: str) -> User | None:
    async with committed(settings) as session:
        found: User | None = await session.scalar(select(User).where(User.email == email))
        return found


async def grants(settings: Settings) -> list[tuple[str, str, str]]:
    async with committed(settings) as session:
        stmt = select(AuditLog.action, AuditLog.actor_kind, AuditLog.actor_id).where(
            AuditLog.action == "user.superadmin_granted"
        )
        return [(r.action, r.actor_kind, r.actor_id) for r in (await session.execute(stmt)).all()]


def test_create_superadmin__no_stdin__prints_a_generated_password_that_logs_in(
    db_cli: Cli, db_settings: Settings
) -> None:
    # When the owner is created with nothing piped in
    result = db_cli("create-superadmin", "--email", "Owner@Example.com")

    # Then a verified superadmin exists whose password is the one printed, audited as the CLI
    assert result.exit_code == 0, result.output
    printed = re.search(r"One-time password \(.*\): (\S+)", result.stdout)
    assert printed is not None
    user = run(lambda: stored_user(db_settings, "owner@example.com"))
    assert user is not None and user.is_superadmin and user.email_verified_at is not None
    assert user.password_hash is not None
    assert run(lambda: security.verify_password(user.password_hash or "", printed.group(1)))
    assert run(lambda: grants(db_settings)) == [("user.superadmin_granted", "system", "cli")]


def test_create_superadmin__password_on_stdin__uses_it_and_prints_none(
    db_cli: Cli, db_settings: Settings
) -> None:
    # When a password is piped in
    result = db_cli.piped(
        STRONG + "\n", "create-superadmin", "--email", "root@example.com", "--name", "Root"
    )

    # Then it is the account's password and nothing secret is printed
    assert result.exit_code == 0, result.output
    assert "One-time password" not in result.stdout
    user = run(lambda: stored_user(db_settings, "root@example.com"))
    assert user is not None and user.name == "Root" and user.is_superadmin
    assert run(lambda: security.verify_password(user.password_hash or "", STRONG))


def test_create_superadmin__existing_account__promoted_once_password_kept(
    db_cli: Cli, db_settings: Settings
) -> None:
    # Given an account created with a known password
    first = db_cli.piped(STRONG + "\n", "create-superadmin", "--email", "ada@example.com")
    assert first.exit_code == 0, first.output

    # When the command runs again for the same address
    again = db_cli("create-superadmin", "--email", "ada@example.com")

    # Then it says so, prints no password, keeps the old one and audits one grant only
    assert again.exit_code == 0, again.output
    assert "already had an account" in again.stdout
    assert "One-time password" not in again.stdout
    user = run(lambda: stored_user(db_settings, "ada@example.com"))
    assert user is not None
    assert run(lambda: security.verify_password(user.password_hash or "", STRONG))
    assert len(run(lambda: grants(db_settings))) == 1


def test_create_superadmin__weak_piped_password__one_line_error_nothing_created(
    db_cli: Cli, db_settings: Settings
) -> None:
    # When the piped password breaks the policy
    result = db_cli.piped("short\n", "create-superadmin", "--email", "weak@example.com")

    # Then one error line says why, and no account exists
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "stronger password" in result.stderr and "at least" in result.stderr
    assert run(lambda: stored_user(db_settings, "weak@example.com")) is None
