"""The job worker: THE map from job name to handler, and the runner built on it.

``keel worker`` runs it on its own; ``keel serve`` runs it in-process in embedded mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from keel.events import service as events_service
from keel.events import tasks as events_tasks
from keel.kit.deps import Resources
from keel.kit.jobs import JobHandler
from keel.kit.jobs.runner import Periodic, Runner, purge_finished
from keel.notifications import tasks as notifications_tasks
from keel.subscriptions import SUBSCRIPTIONS


def job_handlers(
    subscriptions: events_tasks.Subscriptions = SUBSCRIPTIONS,
) -> dict[str, JobHandler]:
    return {
        events_service.DISPATCH_JOB: events_tasks.make_dispatch(subscriptions),
        events_service.HANDLE_JOB: events_tasks.make_handle(subscriptions),
        notifications_tasks.SEND_EMAIL_JOB: notifications_tasks.send_email,
        "jobs.purge": purge_finished,
    }


PERIODIC = (Periodic("jobs.purge", every=timedelta(hours=1)),)


def build_worker(
    resources: Resources, *, handlers: Mapping[str, JobHandler] | None = None
) -> Runner:
    return Runner(resources, handlers or job_handlers(), periodic=PERIODIC)
