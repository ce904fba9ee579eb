"""Where plan limits and plan features are enforced: the hook the feature-control issue fills.

Every place that adds a counted thing (a member, a project) or uses a plan feature (custom
roles) calls one of these *before* writing, so enforcing plans later changes this module only.
Until plans exist, every organization may do everything; the calls are already in place.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import OrgAccess

#: Names the plans issue will define limits for; a typo in a caller fails loudly now.
LIMITS = frozenset({"max_projects", "max_users", "max_api_keys"})
FEATURES = frozenset({"custom_roles", "abac_policies"})


async def ensure_within_limit(
    session: AsyncSession, org: OrgAccess, limit: str, *, current: int, adding: int = 1
) -> None:
    """Raise ``plan_limit_exceeded`` when ``current + adding`` passes the plan's ``limit``."""
    if limit not in LIMITS:
        raise ValueError(f"unknown plan limit {limit!r}; known: {sorted(LIMITS)}")


async def ensure_feature(session: AsyncSession, org: OrgAccess, feature: str) -> None:
    """Raise ``feature_not_in_plan`` when the organization's plan lacks ``feature``."""
    if feature not in FEATURES:
        raise ValueError(f"unknown plan feature {feature!r}; known: {sorted(FEATURES)}")
