"""Every domain has the same files (GUIDE §2), and only ``keel.config`` reads the
environment (GUIDE §3.8)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import keel

SRC = Path(keel.__file__).resolve().parent
MODULE_NAMES = frozenset(
    {
        "__init__",
        "models",
        "schemas",
        "repository",
        "rules",
        "service",
        "errors",
        "events",
        "dependencies",
        "endpoints",
        "tasks",
    }
)
DATA_DIRS = frozenset({"templates"})
#: Modules a domain has beyond GUIDE §2, each with its reason.
EXTRA_MODULES: dict[str, frozenset[str]] = {
    # The OpenFeature provider: an adapter to a standard API, neither service nor endpoint.
    "flags": frozenset({"openfeature"}),
}
# kit is plumbing and cli a command per module; web and admin (pages/, templates/, static/)
# get their own layout rule when they arrive.
NOT_DOMAINS = frozenset({"kit", "cli", "web", "admin"})
ENVIRONMENT_READERS = frozenset({"environ", "environb", "getenv", "getenvb"})
CONFIG = SRC / "config.py"


def domain_packages(root: Path = SRC) -> list[Path]:
    return sorted(
        path
        for path in root.iterdir()
        if path.is_dir() and (path / "__init__.py").exists() and path.name not in NOT_DOMAINS
    )


def unexpected_entries(domain: Path) -> list[str]:
    """Names in ``domain`` that are neither a GUIDE §2 module, a package of the same name
    (``service/`` once ``service.py`` outgrows ~400 lines), nor a data directory."""
    found = []
    for entry in sorted(domain.iterdir()):
        if entry.name == "__pycache__":
            continue
        if entry.is_file() and entry.suffix == ".py" and entry.stem in MODULE_NAMES:
            continue
        if entry.suffix == ".py" and entry.stem in EXTRA_MODULES.get(domain.name, frozenset()):
            continue
        if entry.is_dir() and entry.name in MODULE_NAMES and (entry / "__init__.py").exists():
            continue
        if entry.is_dir() and entry.name in DATA_DIRS:
            continue
        found.append(entry.name + ("/" if entry.is_dir() else ""))
    return found


def environment_reads(source: str) -> list[int]:
    """Line numbers where ``source`` touches ``os.environ``/``os.getenv`` (or imports them)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
            and node.attr in ENVIRONMENT_READERS
        ) or (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(alias.name in ENVIRONMENT_READERS for alias in node.names)
        ):
            lines.append(node.lineno)
    return sorted(lines)


def test_domain_packages__found() -> None:
    # Given the source tree, Then the walk sees the domains that exist today
    names = {path.name for path in domain_packages()}
    assert {"access", "audit", "events", "notifications", "observability"} <= names


@pytest.mark.parametrize("domain", domain_packages(), ids=lambda path: path.name)
def test_domain__only_guide_file_names(domain: Path) -> None:
    # When its entries are listed
    extra = unexpected_entries(domain)
    # Then each is one of GUIDE §2's names
    assert not extra, (
        f"keel/{domain.name}/ has {extra}: a domain holds only {sorted(MODULE_NAMES)} "
        f"(or a package of the same name) and {sorted(DATA_DIRS)}; see GUIDE §2."
    )


#: keel.web's own layout (ADR 0020): the GUIDE §2 modules it needs, ``pages/`` (the routes,
#: one module per area), ``templates/`` and ``static/`` (served at /static).
WEB_DIRS = frozenset({"pages", "static"})


def test_web__guide_names_pages_templates_static_only() -> None:
    # Given keel/web, When its entries are listed apart from pages/ and static/
    web = SRC / "web"
    extra = [name for name in unexpected_entries(web) if name.rstrip("/") not in WEB_DIRS]
    # Then the rest are GUIDE §2 names and templates/
    assert (web / "pages" / "__init__.py").exists()
    assert not extra, f"keel/web/ has {extra}: GUIDE §2 names, pages/, templates/, static/ only."


def test_unexpected_entries__invented_module_and_dir__reported(tmp_path: Path) -> None:
    # Given a domain with the allowed files, a split-up service, templates and two inventions
    for name in ("__init__.py", "models.py", "rules.py", "helpers.py"):
        (tmp_path / name).write_text("")
    for package in ("service", "utils"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "templates").mkdir()
    # When it is checked, Then only the inventions are reported
    assert unexpected_entries(tmp_path) == ["helpers.py", "utils/"]


def test_source__reads_environment_only_in_config() -> None:
    # Given every module of keel except config.py
    offenders = [
        f"{path.relative_to(SRC.parent)}:{line}"
        for path in sorted(SRC.rglob("*.py"))
        if path != CONFIG
        for line in environment_reads(path.read_text(encoding="utf-8"))
    ]
    # Then none reads the environment: settings come from keel.config only
    assert not offenders, f"os.environ/os.getenv outside keel/config.py: {offenders}"


@pytest.mark.parametrize(
    ("source", "lines"),
    [
        ("import os\nx = os.environ['A']\n", [2]),
        ("import os\nx = os.getenv('A')\n", [2]),
        ("from os import environ\n", [1]),
        ("import os\nx = os.getpid()\n", []),
    ],
)
def test_environment_reads__spots_each_form(source: str, lines: list[int]) -> None:
    assert environment_reads(source) == lines
