"""``keel worker``: runs queued jobs until SIGINT/SIGTERM, then stops gracefully.

Several workers may run at once (claims use ``SKIP LOCKED`` on PostgreSQL). On a stop signal
the worker stops claiming, lets running jobs finish within the runner's grace period and
exits 0, so an orchestrator's rolling restart loses no work.
"""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING, Annotated

import typer

from keel.cli.output import fail, load_settings

if TYPE_CHECKING:
    from keel.config import Settings

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Jobs run at once. Default: KEEL_JOBS__CONCURRENCY."),
    ] = None,
) -> None:
    """Run background jobs (outbox events, e-mail, maintenance) until stopped."""
    settings = _with_concurrency(load_settings(), concurrency)
    from keel.cli import migrate
    from keel.kit.logging import configure_logging

    configure_logging(settings)
    migrate.warn_if_pending(settings)
    if settings.jobs.metrics_port is not None:
        _serve_metrics(settings.jobs.metrics_port)
    asyncio.run(_run_until_stopped(settings))


def _with_concurrency(settings: Settings, concurrency: int | None) -> Settings:
    if concurrency is None:
        return settings
    jobs = settings.jobs.model_copy(update={"concurrency": concurrency})
    return settings.model_copy(update={"jobs": jobs})


def _serve_metrics(port: int) -> None:
    """Loopback only: metrics are scraped by a sidecar or a node agent, never the internet."""
    from prometheus_client import start_http_server

    try:
        start_http_server(port, addr="127.0.0.1")
    except OSError as exc:
        fail(f"cannot serve metrics on 127.0.0.1:{port} (KEEL_JOBS__METRICS_PORT): {exc}")


async def _run_until_stopped(settings: Settings) -> None:
    from keel.kit.deps import close_resources, open_resources
    from keel.worker import build_worker

    resources = open_resources(settings)
    try:
        runner = build_worker(resources)
        await runner.start()
        await _stop_requested()
        await runner.stop()
    finally:
        await close_resources(resources)


async def _stop_requested() -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
