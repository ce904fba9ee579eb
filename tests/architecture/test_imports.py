"""The domain order of GUIDE §1 is kept by import-linter (contracts in pyproject.toml,
ADR 0003), and every package is under contract."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import keel

ROOT = Path(__file__).resolve().parents[2]
SRC = Path(keel.__file__).resolve().parent
COMPOSITION = frozenset({"cli"})  # packages above every layer, like main.py and api.py


def contracts() -> dict[str, dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}


def layered_modules(layers: list[str]) -> set[str]:
    return {name.strip() for layer in layers for name in re.split(r"[|:]", layer)}


def packages_and_modules() -> set[str]:
    return {
        f"keel.{path.stem if path.is_file() else path.name}"
        for path in SRC.iterdir()
        if (path.is_dir() and (path / "__init__.py").exists())
        or (path.suffix == ".py" and path.stem != "__init__")
    }


def lint_imports() -> subprocess.CompletedProcess[str]:
    command = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(command), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_import_contracts__all_kept() -> None:
    # When import-linter checks the code against pyproject.toml's contracts
    result = lint_imports()
    # Then none is broken
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_domain_order__every_package_has_a_layer() -> None:
    # Given the layers contract and the packages in src/keel
    layered = layered_modules(contracts()["domain-order"]["layers"])
    packages = {
        name
        for name in packages_and_modules()
        if (SRC / name.removeprefix("keel.")).is_dir()
        and name.removeprefix("keel.") not in COMPOSITION
    }
    # Then each package (and config) sits in a layer, so none escapes the order
    missing = sorted((packages | {"keel.config"}) - layered)
    assert not missing, (
        f"{missing} are in no layer of the domain-order contract: add each to "
        "[tool.importlinter] in pyproject.toml at its place in GUIDE §1."
    )
    assert layered <= packages_and_modules(), "a layer names a package that does not exist"


def test_composition__no_layer_imports_it() -> None:
    # Given the forbidden contract and the layers
    forbidden = contracts()["no-composition"]
    layered = layered_modules(contracts()["domain-order"]["layers"])
    composition = {f"keel.{name}" for name in COMPOSITION} | {
        "keel.main",
        "keel.api",
        "keel.worker",
        "keel.subscriptions",
        "keel.models",
    }
    # Then every layered package is a source, and every composition file is forbidden to them
    assert layered <= set(forbidden["source_modules"])
    assert composition & packages_and_modules() <= set(forbidden["forbidden_modules"])
