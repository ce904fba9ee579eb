"""``keel serve``: the HTTP server (uvicorn over ``keel.main.create_app``).

On SQLite the database is embedded, so nobody else will migrate it: serve brings it to head
before accepting requests. On PostgreSQL migrating is a deploy step (``keel migrate``, run
once, not by every replica racing), so serve only warns when the schema is behind.
The embedded job worker is started by the app's lifespan (``KEEL_JOBS__EMBEDDED``).
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import Annotated, NoReturn

import typer

from keel.cli.output import USAGE, fail, load_settings

APP_FACTORY = "keel.main:create_app"


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
    reload: Annotated[
        bool, typer.Option("--reload/--no-reload", help="Restart on code changes (dev only).")
    ] = False,
) -> None:
    """Serve the API and web pages; migrates an embedded SQLite database first."""
    if reload and workers > 1:
        fail("--reload runs a single process; drop --workers or --reload", code=USAGE)
    settings = load_settings()
    from keel.cli import migrate
    from keel.kit.logging import configure_logging

    configure_logging(settings)
    if settings.is_sqlite:
        migrate.upgrade_to_head(settings)
    else:
        migrate.warn_if_pending(settings)
    _run_uvicorn(host=host, port=port, workers=workers, reload=reload)


def _stopped_by_operator(signum: int, frame: FrameType | None) -> NoReturn:
    raise SystemExit(0)


def _run_uvicorn(*, host: str, port: int, workers: int, reload: bool) -> None:
    import uvicorn

    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to whatever
    # handler was there before, so by default the process dies "killed by SIGTERM" (143).
    # A requested, graceful stop is a success: exit 0.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stopped_by_operator)

    # loop/http "auto" pick uvloop and httptools when installed (uvicorn[standard]).
    # log_config=None: Keel's logging is already configured; uvicorn's would replace it.
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        loop="auto",
        http="auto",
        log_config=None,
        server_header=False,
        proxy_headers=False,  # create_app installs ProxyHeadersMiddleware with Keel's list
    )
