"""Events the plans domain publishes:

=====================  ===================================================================
name                   when
=====================  ===================================================================
subscription.changed   an organization moved to another plan, or its override changed
plan.updated           the superadmin changed a plan of the catalog
plan.limit_approached  an organization's usage crossed 80 % of a plan limit
plan.limit_reached     an organization's usage reached 100 % of a plan limit
payment.processed      a payment was attempted (published by billing, which sits above
                       plans; declared here so the catalog and subscribers need no billing)
=====================  ===================================================================
"""

from __future__ import annotations

import uuid
from typing import Literal

from keel.events.schemas import Event


class SubscriptionChanged(Event):
    """An organization moved to another plan (``change: plan``), or its enterprise
    override was set or cleared (``change: override``)."""

    name = "subscription.changed"
    example = {"previous_plan": "free", "plan": "pro", "change": "plan"}

    previous_plan: str
    plan: str
    #: ``plan`` (a change of plan) or ``override`` (an enterprise deal set or cleared).
    change: str


class PlanUpdated(Event):
    """The platform owner changed a plan of the catalog; ``fields`` names what."""

    name = "plan.updated"
    example = {"plan": "pro", "fields": ["limits"]}

    plan: str
    fields: list[str]


class PaymentProcessed(Event):
    """A payment for an organization's invoice was attempted: ``succeeded``, ``failed``
    (the card was declined: ``failure_code`` says why) or ``refunded``. Published by billing
    (declared here, below billing, so subscribers need not import it). ``amount`` is in minor
    units of ``currency`` (ISO 4217): 4900 EUR is 49.00 EUR; ids are billing's and the
    provider's, never card data."""

    name = "payment.processed"
    example = {
        "payment_id": "0193a1d0-bbbb-7ccc-8ddd-0c1d2e3f4a5b",
        "invoice_id": "0193a1d1-cccc-7eee-8fff-0c1d2e3f4a5b",
        "provider": "stripe",
        "provider_payment_id": "pi_3PqXyZ2eZvKYlo2C1a2b3c4d",
        "amount": 4900,
        "currency": "EUR",
        "status": "succeeded",
        "plan": "pro",
        "failure_code": None,
    }

    payment_id: uuid.UUID
    invoice_id: uuid.UUID
    provider: str
    provider_payment_id: str
    amount: int
    currency: str
    status: Literal["succeeded", "failed", "refunded"]
    plan: str
    failure_code: str | None = None


class _PlanLimitCrossed(Event):
    feature: str
    limit: int
    used: float
    percent: float
    plan: str


class PlanLimitApproached(_PlanLimitCrossed):
    """An organization's usage of a plan limit crossed 80 % (``feature`` is the limit,
    ``used`` and ``limit`` are in its units). Published once per crossing and at most once a
    month per limit, however often usage moves around the threshold."""

    name = "plan.limit_approached"
    example = {"feature": "max_projects", "limit": 10, "used": 8, "percent": 80.0, "plan": "free"}


class PlanLimitReached(_PlanLimitCrossed):
    """An organization's usage of a plan limit reached 100 %: more is refused with
    ``plan_limit_exceeded`` until the plan changes. Once per crossing, at most once a month."""

    name = "plan.limit_reached"
    example = {"feature": "max_projects", "limit": 10, "used": 10, "percent": 100.0, "plan": "free"}
