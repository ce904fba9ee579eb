"""The plans domain's errors.

=====================  ======  ================================================================
code                   status  when
=====================  ======  ================================================================
feature_not_in_plan    402     the organization's plan lacks the feature; ``upgrade_to`` names
                               the cheapest plan that has it
plan_limit_exceeded    402     the change would pass a limit of the plan; ``upgrade_to`` names
                               the cheapest plan with room for it
plan_invalid           422     a plan's or an override's features or rate limits are malformed
=====================  ======  ================================================================

Both 402 bodies also carry ``feature``, ``plan`` (the current plan's key) and, for limits,
``limit`` and ``current``; ``upgrade_to`` is null when no plan offers more.
"""

from __future__ import annotations

from keel.kit.errors import AppError, NotFound, ValidationFailed


class FeatureNotInPlan(AppError):
    """Your organization's plan does not include this feature. Upgrade to the plan named in
    ``upgrade_to`` to access it."""

    status = 402
    code = "feature_not_in_plan"
    title = "Feature not in plan"


class PlanLimitExceeded(AppError):
    """Your organization has reached a limit of its plan (``limit``). Remove something, or
    upgrade to the plan named in ``upgrade_to``."""

    status = 402
    code = "plan_limit_exceeded"
    title = "Plan limit exceeded"


class PlanNotFound(NotFound):
    """No plan with this key exists. ``GET /api/v1/plans`` lists the catalog."""


class PlanInvalid(ValidationFailed):
    """The plan's features or rate limits are malformed; ``errors`` names each one."""

    code = "plan_invalid"
    title = "Invalid plan"
