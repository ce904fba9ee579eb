"""The users domain's API shapes."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from keel.kit.schemas import Input
from keel.users.models import User


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
