"""Builders for job tests: runners over the test's resources and a job-state reader."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from keel.config import Settings
from keel.kit import clock
from keel.kit.db import Database
from keel.kit.deps import Resources
from keel.kit.jobs import JobHandler
from keel.kit.jobs.models import Job
from keel.kit.jobs.runner import Runner


class FakeClock:
    """A clock the test moves by hand, so backoff and leases are tested without sleeping."""

    def __init__(self) -> None:
        self.moment = clock.now()

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


def runner(
    resources: Resources,
    handlers: Mapping[str, JobHandler],
    *,
    name: str | None = None,
    now: Callable[[], datetime] = clock.now,
    **jobs_settings: Any,
) -> Runner:
    """A runner whose job settings are the test settings overridden by ``jobs_settings``."""
    settings = resources.settings
    if jobs_settings:
        settings = settings.model_copy(
            update={"jobs": settings.jobs.model_copy(update=jobs_settings)}
        )
    return Runner(
        Resources(settings, resources.database, resources.cache, resources.broadcast),
        handlers,
        name=name,
        now=now,
    )


def with_database(
    resources: Resources, database: Database, settings: Settings | None = None
) -> Resources:
    return Resources(settings or resources.settings, database, resources.cache, resources.broadcast)


async def job_state(database: Database, job_id: uuid.UUID) -> Job:
    async with database.transaction() as session:
        job = (await session.scalars(select(Job).where(Job.id == job_id))).one()
        session.expunge(job)
        return job


async def all_jobs(database: Database, *, name: str | None = None) -> list[Job]:
    async with database.transaction() as session:
        stmt = select(Job).order_by(Job.created_at)
        if name is not None:
            stmt = stmt.where(Job.name == name)
        jobs = list((await session.scalars(stmt)).all())
        session.expunge_all()
        return jobs
