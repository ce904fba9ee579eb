"""The job worker: THE map from job name to handler, and the runner built on it.

``keel worker`` runs it on its own; ``keel serve`` runs it in-process in embedded mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from keel.audit import tasks as audit_tasks
from keel.events import service as events_service
from keel.events import tasks as events_tasks
from keel.kit import idempotency
from keel.kit.deps import Resources
from keel.kit.jobs import JobHandler
from keel.kit.jobs.repository import Claimed
from keel.kit.jobs.runner import DeadJobHook, Periodic, Runner, purge_finished
from keel.notifications import tasks as notifications_tasks
from keel.observability import service as observability_service
from keel.subscriptions import SUBSCRIPTIONS
from keel.users import tasks as users_tasks
from keel.webhooks import service as webhooks_service
from keel.webhooks import tasks as webhooks_tasks


def job_handlers(
    subscriptions: events_tasks.Subscriptions = SUBSCRIPTIONS,
) -> dict[str, JobHandler]:
    return {
        events_service.DISPATCH_JOB: events_tasks.make_dispatch(subscriptions),
        events_service.HANDLE_JOB: events_tasks.make_handle(subscriptions),
        notifications_tasks.SEND_EMAIL_JOB: notifications_tasks.send_email,
        notifications_tasks.PURGE_JOB: notifications_tasks.purge,
        users_tasks.ONBOARDING_EMAIL_JOB: users_tasks.send_onboarding_email,
        "jobs.purge": purge_finished,
        idempotency.PURGE_JOB: idempotency.purge,
        audit_tasks.PURGE_JOB: audit_tasks.purge,
        webhooks_service.DELIVER_JOB: webhooks_tasks.deliver,
        webhooks_service.SWEEP_JOB: webhooks_tasks.sweep,
        webhooks_service.PURGE_JOB: webhooks_tasks.purge,
    }


PERIODIC = (
    Periodic("jobs.purge", every=timedelta(hours=1)),
    Periodic(idempotency.PURGE_JOB, every=timedelta(hours=1)),
    Periodic(audit_tasks.PURGE_JOB, every=timedelta(days=1)),
    # Deliveries whose wake-up was lost (a race, a killed worker): queued again.
    Periodic(webhooks_service.SWEEP_JOB, every=timedelta(minutes=1)),
    # The delivery log past KEEL_WEBHOOKS__LOG_RETENTION_DAYS.
    Periodic(webhooks_service.PURGE_JOB, every=timedelta(days=1)),
    Periodic(notifications_tasks.PURGE_JOB, every=timedelta(days=1)),
)


def build_worker(
    resources: Resources, *, handlers: Mapping[str, JobHandler] | None = None
) -> Runner:
    return Runner(
        resources,
        handlers or job_handlers(),
        periodic=PERIODIC,
        on_dead=dead_job_reporter(resources),
    )


def dead_job_reporter(resources: Resources) -> DeadJobHook:
    """A job that died is published as ``error.detected`` (once per fingerprint per window)."""

    async def report(job: Claimed, exc: Exception) -> None:
        await observability_service.report_error(resources, exc, source="job", where=job.name)

    return report
