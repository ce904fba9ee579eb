"""The ``keel`` command line. ``register`` attaches every command group to the Typer app.

Each module owns one group and imports its heavy dependencies (SQLAlchemy, Alembic, the app)
inside the command, so ``keel --help`` answers at once and ``keel serve`` spends its start-up
budget on the server, not on code it never runs.
"""

from __future__ import annotations

import importlib

import typer


def register(app: typer.Typer) -> None:
    """Attach every command. Each module owns one group; see its docstring."""
    from keel.cli import audit, demo, flags, jobs, migrate, serve, superadmin, version, worker

    app.command("serve")(serve.serve)
    app.command("worker")(worker.worker)
    app.command("migrate")(migrate.migrate)
    app.command("create-superadmin")(superadmin.create_superadmin)
    app.command("demo")(demo.demo)
    _register_doctor(app)
    app.add_typer(jobs.app, name="jobs")
    app.add_typer(flags.app, name="flags")
    app.add_typer(audit.app, name="audit")
    app.command("version")(version.version)


def _register_doctor(app: typer.Typer) -> None:
    # keel/cli/doctor.py is written alongside this module; until it lands the CLI still works.
    try:
        module = importlib.import_module("keel.cli.doctor")
    except ModuleNotFoundError as exc:
        if exc.name != "keel.cli.doctor":
            raise
        return
    app.command("doctor")(module.doctor)
