"""The README's configuration table is generated from :class:`keel.config.Settings`; this
test fails when the two drift apart. Regenerate the table with::

    uv run python -m tests.test_readme
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from keel.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- config-table:start -->", "<!-- config-table:end -->"
PREFIX, NESTING = "KEEL_", "__"


def settings_rows(
    model: type[BaseModel] = Settings, prefix: str = PREFIX
) -> Iterator[tuple[str, str, str]]:
    """(variable, default, meaning) for every leaf field, nested groups flattened with ``__``."""
    for name, field in model.model_fields.items():
        variable = prefix + name.upper()
        group = field.annotation
        if isinstance(group, type) and issubclass(group, BaseModel):
            yield from settings_rows(group, variable + NESTING)
            continue
        default = field.get_default(call_default_factory=True)
        yield variable, format_default(default), field.description or ""


def format_default(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, list | dict):
        value = json.dumps(value)
    elif isinstance(value, Enum):
        value = value.value
    return f"`{value}`"


def escape_cell(text: str) -> str:
    """Markdown table cell: a ``|`` would end the cell, ``<x>`` would vanish as HTML."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def config_table() -> str:
    lines = ["| Variable | Default | Meaning |", "|---|---|---|"]
    lines += [
        f"| `{variable}` | {default} | {escape_cell(meaning)} |"
        for variable, default, meaning in settings_rows()
    ]
    return "\n".join(lines)


def readme_table(text: str) -> str:
    match = re.search(re.escape(START) + r"\n(.*?)\n" + re.escape(END), text, re.DOTALL)
    assert match, f"README.md lost its {START} ... {END} markers"
    return match.group(1).strip()


def write_table(readme: Path = README) -> None:
    text = readme.read_text(encoding="utf-8")
    readme_table(text)  # the markers are there
    start, rest = text.split(START, 1)
    end = rest.split(END, 1)[1]
    readme.write_text(f"{start}{START}\n{config_table()}\n{END}{end}", encoding="utf-8")


def test_readme__config_table__matches_settings() -> None:
    # Given the table in README.md and the one generated from Settings
    written = readme_table(README.read_text(encoding="utf-8"))
    # Then they are the same
    assert written == config_table(), (
        "README's configuration table is out of date: run `uv run python -m tests.test_readme`"
    )


def test_config_table__lists_top_level_and_nested_variables() -> None:
    variables = [row[0] for row in settings_rows()]
    assert "KEEL_SECRET_KEY" in variables
    assert "KEEL_DATABASE__URL" in variables
    assert len(variables) == len(set(variables))
    assert all(meaning for _, _, meaning in settings_rows()), "every setting needs a description"


def test_config_table__names_are_the_ones_settings_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a top-level and a nested variable named as the table names them
    monkeypatch.setenv("KEEL_ENV", "development")
    monkeypatch.setenv("KEEL_DATA_DIR", "/srv/keel")
    monkeypatch.setenv("KEEL_DATABASE__POOL_SIZE", "3")
    # When settings are read, Then both take effect
    settings = Settings()
    assert str(settings.data_dir) == "/srv/keel"
    assert settings.database.pool_size == 3


def test_readme__quick_start__exactly_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^```(?:sh|bash|console)?\n(.*?)```", section, re.DOTALL | re.MULTILINE)
    lines = [line for block in commands for line in block.strip().splitlines()]
    assert lines == ["make run", "make test"]


if __name__ == "__main__":
    write_table()
