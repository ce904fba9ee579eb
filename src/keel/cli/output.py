"""What every command shares: settings loading and the error vocabulary of the CLI.

Exit codes: 0 success; 1 the command could not do its job (bad configuration, database
unreachable, job not found); 2 the command line itself is wrong (unknown option, malformed
value). Every error is ONE line on stderr starting with ``error:``; an operator reads the
fix from it, never a traceback.

Heavy imports (SQLAlchemy, pydantic) stay inside functions so ``keel --help`` and
``keel serve`` start fast.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from keel.config import Settings

FAILURE = 1
USAGE = 2


def one_line(text: str) -> str:
    """Collapse a message to one line: multi-line driver errors would break log parsers."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def fail(message: str, *, code: int = FAILURE) -> NoReturn:
    typer.echo(f"error: {one_line(message)}", err=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    typer.echo(f"warning: {one_line(message)}", err=True)


def help_when_bare(ctx: typer.Context) -> None:
    """A group called without a command shows its help and succeeds (Click's
    ``no_args_is_help`` exits 2 and cannot be told apart from a usage error)."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


def stdout_console() -> Console:
    """A Console bound to the current stdout; wide when piped so ids are never cut."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 200, highlight=False)


def load_settings() -> Settings:
    """The process settings, or a one-line error naming the bad ``KEEL_`` variable."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from keel.config import get_settings
    from keel.observability.rules import describe_validation_error

    try:
        return get_settings()
    except ValidationError as exc:
        fail(f"invalid configuration: {describe_validation_error(exc)}")
    except SettingsError as exc:
        fail(f"invalid configuration: {exc}")


def safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


@contextmanager
def database_errors(settings: Settings, doing: str) -> Iterator[None]:
    """Turn a driver or connection error into one line that names the database."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except (SQLAlchemyError, OSError) as exc:
        reason = getattr(exc, "orig", None) or exc
        message = f"could not {doing} at {safe_url(settings)}: {type(reason).__name__}: {reason}"
        if _is_missing_table(reason):
            message += " (the schema is missing: run `keel migrate`)"
        fail(message)


def _is_missing_table(reason: BaseException) -> bool:
    # SQLite: OperationalError "no such table"; asyncpg: UndefinedTableError (SQLSTATE 42P01).
    return "no such table" in str(reason) or getattr(reason, "sqlstate", None) == "42P01"
