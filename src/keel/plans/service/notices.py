"""Announcing that an organization's usage crossed 80 % or 100 % of a plan limit
(``plan.limit_approached`` / ``plan.limit_reached``), for its admins to hear of it before
(and when) requests are refused.

Where usage grows, the code that saw it grow calls :func:`notice_crossing` with the usage
before and after: ``ensure_within_limit`` (seats, projects, ... as they are added) and the
API-call counter flush. Only a crossing counts, and each (limit, threshold) is announced at
most once per calendar month: a marker counter row in ``usage_counters`` is bumped in the
same transaction, and only the bump that makes it 1 publishes. So usage moving around a
threshold, or two processes crossing it at once, still announce it once; a rolled-back
change takes its marker with it.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from keel.events import service as events_service
from keel.kit import clock
from keel.plans import repository, rules
from keel.plans.events import PlanLimitApproached, PlanLimitReached


def limit_label(metric: str) -> str:
    """What a limit counts, for people: ``max_projects`` -> ``projects``."""
    return rules.LABELS.get(metric, metric)


def marker_metric(metric: str, threshold: int) -> str:
    return f"notice:{metric}:{threshold}"


async def notice_crossing(
    session: AsyncSession,
    org_id: uuid.UUID,
    *,
    metric: str,
    limit: int,
    plan: str,
    before: int,
    after: int,
) -> int | None:
    """Publish the crossing of ``metric``'s limit (``before``/``after`` in usage units,
    bytes for storage) if there is one not yet announced this month; returns its threshold."""
    unit = rules.UNIT.get(metric, 1)
    threshold = rules.crossed_threshold(limit * unit, before=before, after=after)
    if threshold is None:
        return None
    period = clock.now().strftime("%Y-%m")
    marker = marker_metric(metric, threshold)
    if await repository.add_to_counter(session, org_id, marker, period, 1) != 1:
        return None
    used = after / unit
    event = PlanLimitReached if threshold == 100 else PlanLimitApproached
    await events_service.publish(
        session,
        event(
            organization_id=org_id,
            feature=metric,
            limit=limit,
            used=used,
            percent=rules.percent(used, limit) or 0.0,
            plan=plan,
        ),
    )
    return threshold
