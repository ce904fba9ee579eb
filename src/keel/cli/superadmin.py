"""``keel create-superadmin --email E``: the platform owner, who alone reaches ``/admin`` and
``/api/v1/admin``.

The password is read from standard input when one is piped in (``… | keel create-superadmin``),
else generated and printed once. An existing account with that email is promoted instead,
its password untouched. The change is audited as ``user.superadmin_granted`` by
``Actor.system("cli")``. The admin routes also demand MFA: the new owner enrolls it after
logging in.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from keel.cli.output import database_errors, fail, load_settings

if TYPE_CHECKING:
    from keel.config import Settings
    from keel.kit.errors import AppError

#: 24 URL-safe random bytes: 32 characters, far past any password policy Keel enforces.
_GENERATED_BYTES = 24


def create_superadmin(
    email: Annotated[str, typer.Option(help="The owner's email address.")],
    name: Annotated[str, typer.Option(help="Display name of a new account.")] = "Platform owner",
) -> None:
    """Create the platform owner (or promote an existing account) and print how to log in."""
    settings = load_settings()
    piped = piped_password()
    password = piped or secrets.token_urlsafe(_GENERATED_BYTES)
    with database_errors(settings, "create the superadmin"):
        created = asyncio.run(_create(settings, email=email, name=name, password=password))
    if not created:
        typer.echo(f"{email} already had an account; it is now a superadmin.")
        return
    typer.echo(f"Created superadmin {email}.")
    if piped is None:
        typer.echo(f"One-time password (shown once, change it after logging in): {password}")
    typer.echo("Log in, then enroll MFA: the admin routes refuse a superadmin without it.")


def piped_password() -> str | None:
    """The first line of standard input when something is piped in (never a terminal)."""
    if sys.stdin is None or sys.stdin.isatty():
        return None
    line = sys.stdin.readline().rstrip("\r\n")
    return line or None


async def _create(settings: Settings, *, email: str, name: str, password: str) -> bool:
    from keel.access.schemas import Actor
    from keel.kit.db import standalone_transaction
    from keel.kit.errors import AppError
    from keel.users import service as users_service

    try:
        async with standalone_transaction(settings) as session:
            _, created = await users_service.make_superadmin(
                session, Actor.system("cli"), email=email, name=name, password=password
            )
    except AppError as exc:
        fail(describe_error(exc))
    return created


def describe_error(exc: AppError) -> str:
    """The problem's detail and, for a validation failure, each field's message."""
    errors = exc.extra.get("errors") or []
    details = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
    return f"{exc.detail}{' ' + details if details else ''}"
