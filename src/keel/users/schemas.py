"""The users domain's API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from keel.kit.schemas import Input
from keel.users import rules
from keel.users.models import User

OnboardingStepName = Literal["organization_details", "feature_tour", "integrations"]


class UserRead(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    email_verified: bool

    @classmethod
    def of(cls, user: User) -> UserRead:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            email_verified=user.email_verified_at is not None,
        )


class UserUpdate(Input):
    """What a user may change of their own account: the name. Attributes are not here on
    purpose: they feed ABAC policies and flag rules (department, clearance), so a user who
    could set their own would grant themselves access."""

    name: str | None = Field(default=None, min_length=1, max_length=200)


class OnboardingStep(BaseModel):
    name: str
    #: None while the step is open.
    state: Literal["done", "skipped"] | None


class OnboardingRead(BaseModel):
    """The checklist the app shows after sign-up, in order."""

    steps: list[OnboardingStep]
    completed: bool
    completed_at: datetime | None

    @classmethod
    def of(cls, user: User) -> OnboardingRead:
        recorded = user.onboarding_steps or {}
        return cls(
            steps=[
                OnboardingStep(name=name, state=recorded.get(name))
                for name in rules.ONBOARDING_STEPS
            ],
            completed=user.onboarding_completed_at is not None,
            completed_at=user.onboarding_completed_at,
        )


class OnboardingUpdate(Input):
    """Mark one ``step`` done or skipped, or ``skip_all`` steps not done yet."""

    step: OnboardingStepName | None = None
    state: Literal["done", "skipped"] = "done"
    skip_all: bool = False

    @model_validator(mode="after")
    def _one_target(self) -> OnboardingUpdate:
        if (self.step is None) == (not self.skip_all):
            raise ValueError("give either a step (with its state) or skip_all: true")
        return self
