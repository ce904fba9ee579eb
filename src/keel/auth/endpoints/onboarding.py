"""``/api/v1/me/onboarding``: the caller's onboarding checklist (organization details, feature
tour, integrations), each step done or skipped by the app as the user goes, or all skipped
at once. Completing it stops the onboarding emails."""

from __future__ import annotations

from keel.auth.dependencies import CurrentActor, CurrentUser
from keel.kit.deps import DbSession
from keel.kit.routing import api_router
from keel.users import service as users_service
from keel.users.schemas import OnboardingRead, OnboardingUpdate

router = api_router(tags=["me"])


@router.get("/me/onboarding", response_model=OnboardingRead)
async def get_onboarding(user: CurrentUser) -> OnboardingRead:
    return OnboardingRead.of(user)


@router.patch("/me/onboarding", response_model=OnboardingRead)
async def update_onboarding(
    body: OnboardingUpdate, user: CurrentUser, actor: CurrentActor, db: DbSession
) -> OnboardingRead:
    step = None if body.skip_all else body.step
    state = "skipped" if body.skip_all else body.state
    updated = await users_service.update_onboarding(db, actor, user, step=step, state=state)
    return OnboardingRead.of(updated)
