"""The ``keel`` app as a whole: its commands, help, and how every error is reported."""

from __future__ import annotations

import importlib.util
import subprocess

import pytest
import typer

from keel.cli.output import fail
from tests.cli.conftest import Cli
from tests.cli.support import KEEL_BIN

COMMANDS = ["serve", "worker", "migrate", "jobs", "version"]


def test_help__listed__every_command_appears(cli: Cli) -> None:
    # Given / When
    result = cli("--help")

    # Then
    assert result.exit_code == 0
    expected = [*COMMANDS, "doctor"] if importlib.util.find_spec("keel.cli.doctor") else COMMANDS
    for name in expected:
        assert f" {name} " in result.stdout, name


def test_console_script__help__lists_commands_including_doctor() -> None:
    # Given the installed entrypoint, When
    result = subprocess.run(
        [str(KEEL_BIN), "--help"], capture_output=True, text=True, timeout=60, check=False
    )

    # Then
    assert result.returncode == 0, result.stderr
    for name in [*COMMANDS, "doctor"]:
        assert f" {name} " in result.stdout, name


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "--help"],
        ["worker", "--help"],
        ["migrate", "--help"],
        ["jobs", "--help"],
        ["jobs", "list", "--help"],
        ["jobs", "retry", "--help"],
        ["version", "--help"],
    ],
)
def test_command_help__asked__exits_zero(cli: Cli, args: list[str]) -> None:
    result = cli(*args)

    assert result.exit_code == 0, result.output
    assert "Usage" in result.stdout


@pytest.mark.parametrize("args", [[], ["jobs"]])
def test_group__called_bare__shows_help_and_succeeds(cli: Cli, args: list[str]) -> None:
    result = cli(*args)

    assert result.exit_code == 0
    assert "Usage" in result.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["nope"], "No such command 'nope'"),
        (["migrate", "--bogus"], "No such option: --bogus"),
        (["serve", "--port", "http"], "--port"),
        (["jobs", "retry"], "Missing argument 'JOB_ID'"),
    ],
)
def test_bad_command_line__given__one_error_line_and_exit_2(
    cli: Cli, args: list[str], fragment: str
) -> None:
    # When
    result = cli(*args)

    # Then
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")
    assert fragment in result.stderr
    assert "--help`" in result.stderr


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"KEEL_DATABASE__POOL_SIZE": "0"}, "KEEL_DATABASE__POOL_SIZE"),
        ({"KEEL_ENV": "staging"}, "KEEL_ENV"),
        ({"KEEL_ENV": "production", "KEEL_SECRET_KEY": "short"}, "KEEL_SECRET_KEY"),
        ({"KEEL_HTTP__CORS_ORIGINS": "not-json"}, "http"),
    ],
)
@pytest.mark.parametrize("command", [["migrate"], ["serve"], ["worker"], ["jobs", "list"]])
def test_bad_setting__any_command__one_line_naming_the_variable(
    cli: Cli, env: dict[str, str], variable: str, command: list[str]
) -> None:
    # When
    result = cli(*command, **env)

    # Then
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: invalid configuration")
    assert variable in result.stderr
    assert "Traceback" not in result.output


def test_unexpected_error__raised_in_a_command__one_line_not_a_traceback() -> None:
    # Given a command with a bug
    from typer.testing import CliRunner

    from keel.cli.main import new_app

    app = new_app()

    @app.command("broken")
    def broken() -> None:
        raise KeyError("boom")

    # When
    result = CliRunner().invoke(app, ["broken"])

    # Then
    assert result.exit_code == 1
    assert result.stderr == "error: unexpected KeyError: 'boom'\n"


def test_fail__multi_line_message__printed_as_one_line() -> None:
    app = typer.Typer()

    @app.command()
    def only() -> None:
        fail("first\n  second\n", code=1)

    from typer.testing import CliRunner

    result = CliRunner().invoke(app, [])

    assert result.exit_code == 1
    assert result.stderr == "error: first second\n"
