from __future__ import annotations

from importlib.metadata import version

from tests.cli.conftest import Cli


def test_version__asked__prints_the_installed_version(cli: Cli) -> None:
    result = cli("version")

    assert result.exit_code == 0
    assert result.stdout == f"keel {version('keel')}\n"
