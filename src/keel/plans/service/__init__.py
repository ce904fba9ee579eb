"""The plans domain's API (``from keel.plans import service as plans_service``).

- ``catalog``: the plan catalog and per-organization overrides, cached per process and edited
  by the superadmin (audited).
- ``gating``: ``ensure_feature`` / ``ensure_within_limit`` (402 with the upgrade), the meters
  that count usage, and an organization's plan page.
- ``metering``: API calls counted per request in memory and flushed to the database in
  batches; the per-request admission (quota, API access, rate-limit terms).
- ``notices``: ``plan.limit_approached`` / ``plan.limit_reached`` when usage crosses 80 % /
  100 % of a limit, once per crossing and month.
"""

from keel.plans.rules import RATE_LIMIT_GROUPS, RateLimit
from keel.plans.service.catalog import (
    clear_override,
    entitlements_for,
    plan_catalog,
    plan_read,
    plan_terms,
    public_plans,
    read_override,
    set_override,
    update_plan,
    validate_plan,
)
from keel.plans.service.gating import (
    Meter,
    ensure_feature,
    ensure_within_limit,
    organization_plan,
    rate_limit,
    register_meter,
)
from keel.plans.service.metering import (
    API_CALLS,
    CallCounter,
    admit_request,
    flush_api_calls,
    month,
    run_flusher,
)
from keel.plans.service.notices import limit_label, notice_crossing

__all__ = [
    "API_CALLS",
    "RATE_LIMIT_GROUPS",
    "CallCounter",
    "Meter",
    "RateLimit",
    "admit_request",
    "clear_override",
    "ensure_feature",
    "ensure_within_limit",
    "entitlements_for",
    "flush_api_calls",
    "limit_label",
    "month",
    "notice_crossing",
    "organization_plan",
    "plan_catalog",
    "plan_read",
    "plan_terms",
    "public_plans",
    "rate_limit",
    "read_override",
    "register_meter",
    "run_flusher",
    "set_override",
    "update_plan",
    "validate_plan",
]
