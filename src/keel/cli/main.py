"""``keel``: the command-line entrypoint. One module per command group."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from keel.cli.output import FAILURE, USAGE, help_when_bare, one_line


class OneLineErrorGroup(TyperGroup):
    """Runs the command tree non-standalone so every failure is reported the same way: one
    ``error:`` line on stderr (Click's usage box and Python tracebacks are multi-line)."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        code = _run_reporting_errors(self, args, prog_name, complete_var, extra)
        if not standalone_mode:
            return code
        sys.exit(code)


def _run_reporting_errors(
    group: TyperGroup,
    args: Sequence[str] | None,
    prog_name: str | None,
    complete_var: str | None,
    extra: dict[str, Any],
) -> int:
    try:
        result = TyperGroup.main(
            group, args, prog_name, complete_var, standalone_mode=False, **extra
        )
    except typer.TyperException as exc:  # Click's errors (typer vendors Click privately)
        typer.echo(f"error: {_describe_click_error(exc)}", err=True)
        return exc.exit_code
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        return FAILURE
    except Exception as exc:  # a bug: still one line, with its type to search for
        typer.echo(f"error: unexpected {type(exc).__name__}: {one_line(str(exc))}", err=True)
        return FAILURE
    return result if isinstance(result, int) else 0


def _describe_click_error(exc: typer.TyperException) -> str:
    message = one_line(exc.format_message())
    ctx = getattr(exc, "ctx", None)
    if exc.exit_code == USAGE and ctx is not None:
        return f"{message} (see `{ctx.command_path} --help`)"
    return message


def new_app() -> typer.Typer:
    """A bare ``keel`` app; :func:`keel.cli.register` attaches the commands."""
    app = typer.Typer(
        name="keel",
        cls=OneLineErrorGroup,
        help="Keel: a multi-tenant SaaS foundation. Run `keel COMMAND --help` for details.",
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.callback(invoke_without_command=True)(help_when_bare)
    return app


app = new_app()


def run() -> None:
    """Console-script entrypoint (``keel``)."""
    from keel.cli import register

    register(app)
    app()
