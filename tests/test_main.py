"""create_app wiring: the embedded worker runs inside the app when the settings say so."""

from __future__ import annotations

import asyncio
import time

from asgi_lifespan import LifespanManager

from keel.kit import jobs
from keel.kit.deps import Resources
from keel.kit.jobs.models import DONE
from keel.main import create_app
from tests.helpers.jobs import job_state


def embedded(base: Resources, *, enabled: bool) -> Resources:
    jobs_settings = base.settings.jobs.model_copy(update={"embedded": enabled})
    settings = base.settings.model_copy(update={"jobs": jobs_settings})
    return Resources(settings, base.database, base.cache, base.broadcast)


async def test_create_app__embedded_worker__runs_queued_jobs(
    committed_resources: Resources,
) -> None:
    # Given settings that ask for the embedded worker and a due job ("jobs.purge" is built in)
    resources = embedded(committed_resources, enabled=True)
    async with resources.database.transaction() as session:
        job_id = await jobs.enqueue(session, "jobs.purge", {})
    assert job_id is not None
    # When the app runs
    async with LifespanManager(create_app(resources.settings, resources=resources)):
        deadline = time.monotonic() + 10
        while (await job_state(resources.database, job_id)).status != DONE:
            assert time.monotonic() < deadline, "the embedded worker did not run the job"
            await asyncio.sleep(0.05)


async def test_create_app__embedded_off__no_worker(committed_resources: Resources) -> None:
    resources = embedded(committed_resources, enabled=False)
    async with resources.database.transaction() as session:
        job_id = await jobs.enqueue(session, "jobs.purge", {})
    assert job_id is not None
    async with LifespanManager(create_app(resources.settings, resources=resources)):
        await asyncio.sleep(0.3)
    assert (await job_state(resources.database, job_id)).status != DONE
