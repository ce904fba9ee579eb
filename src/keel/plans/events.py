"""Events the plans domain publishes:

=====================  ===================================================================
name                   when
=====================  ===================================================================
subscription.changed   an organization moved to another plan, or its override changed
plan.updated           the superadmin changed a plan of the catalog
=====================  ===================================================================
"""

from __future__ import annotations

from keel.events.schemas import Event


class SubscriptionChanged(Event):
    name = "subscription.changed"

    previous_plan: str
    plan: str
    #: ``plan`` (a change of plan) or ``override`` (an enterprise deal set or cleared).
    change: str


class PlanUpdated(Event):
    name = "plan.updated"

    plan: str
    fields: list[str]
