# Keel's developer commands. The README names two: `make run` and `make test`.
# Both work on a fresh machine with only python3 (>= 3.11) and make: they install uv if it is
# missing, then the locked dependencies into .venv, using the machine's Python (no downloads).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := $(CURDIR)/.tools
SOURCES := src tests migrations bench

# uv from PATH if there is one, else the copy this Makefile installs under .tools/.
UV := $(or $(shell command -v uv 2>/dev/null),$(TOOLS)/bin/uv)
export UV_PYTHON_DOWNLOADS := never

.PHONY: help install browser run worker migrate test lint check-migrations pytest fmt clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

# Bytecode is compiled at install time: a cold `keel serve` otherwise spends most of its first
# seconds compiling (and never caches it where PYTHONDONTWRITEBYTECODE is set).
install: | $(UV) ## install the locked dependencies into .venv
	$(UV) sync --locked --compile-bytecode
	$(UV) run --no-sync python -m compileall -q src migrations

# The browser tests (tests/e2e) drive Debian's Chromium. As root with apt-get (CI, a container)
# it is installed once; elsewhere this only says how, and the browser tests skip unless
# KEEL_REQUIRE_BROWSER=1 (set by CI) makes a missing browser a failure.
CHROMIUM := /usr/bin/chromium
browser: ## Chromium for the browser tests (Debian's package; installed when run as root)
	@if [ -x "$(CHROMIUM)" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing Debian's chromium for the browser tests (tests/e2e)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get -qq update && apt-get -qq install -y chromium >/dev/null \
	  || echo "apt-get could not install chromium: the browser tests will skip (or fail in CI)" >&2; \
	else \
	  echo "No Chromium at $(CHROMIUM): the browser tests (tests/e2e) will skip. Install it:" \
	    "sudo apt-get install chromium (Debian/Ubuntu), then run make test again" >&2; \
	fi

run: install ## serve on http://127.0.0.1:8000 with embedded defaults (SQLite in ./var)
	$(UV) run keel serve

worker: install ## run the job worker on its own (production mode)
	$(UV) run keel worker

migrate: install ## apply pending migrations to the configured database
	$(UV) run keel migrate

test: lint check-migrations pytest ## everything CI checks: lint, alembic check, the suite

lint: install ## ruff, ruff format --check, mypy --strict, import contracts
	$(UV) run ruff check $(SOURCES)
	$(UV) run ruff format --check $(SOURCES)
	$(UV) run mypy
	$(UV) run lint-imports

# The models and the migrations must agree: migrate a throwaway SQLite database to head,
# then `alembic check` fails if autogenerate would produce anything.
check-migrations: install ## alembic check against a throwaway database
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	export KEEL_DATA_DIR="$$tmp"; unset KEEL_DATABASE__URL; \
	$(UV) run alembic upgrade head && $(UV) run alembic check

pytest: install browser ## the test suite in parallel, with coverage (term + coverage.xml)
	$(UV) run pytest -n auto --cov=keel --cov-report=term --cov-report=xml

fmt: install ## format and auto-fix
	$(UV) run ruff format $(SOURCES)
	$(UV) run ruff check --fix $(SOURCES)

clean: ## remove caches and reports (keeps .venv, .tools and the data in ./var)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .import_linter_cache htmlcov build dist
	rm -f .coverage .coverage.* coverage.xml
	find src tests migrations -name __pycache__ -type d -prune -exec rm -rf {} +

# Only when uv is not on PATH: a private venv holding uv, else pip's --user scheme.
$(TOOLS)/bin/uv:
	@echo "uv not found: installing uv==$(UV_VERSION) into $(TOOLS)"
	@if $(PYTHON) -m venv "$(TOOLS)" >/dev/null 2>&1; then \
	  "$(TOOLS)/bin/pip" install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"; \
	else \
	  rm -rf "$(TOOLS)"; mkdir -p "$(TOOLS)/bin"; \
	  $(PYTHON) -m pip install --quiet --user "uv==$(UV_VERSION)" \
	  || $(PYTHON) -m pip install --quiet --user --break-system-packages "uv==$(UV_VERSION)" \
	  || { rm -rf "$(TOOLS)"; echo "Cannot install uv: $(PYTHON) has neither venv nor pip. On Debian: apt-get install python3-venv" >&2; exit 1; }; \
	  ln -sf "$$($(PYTHON) -m site --user-base)/bin/uv" "$(TOOLS)/bin/uv"; \
	fi
	@"$(TOOLS)/bin/uv" --version
