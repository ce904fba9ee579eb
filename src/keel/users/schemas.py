"""The users domain's API shapes."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field

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


class UserUpdate(BaseModel):
    """A partial update: absent fields are left as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    attributes: dict[str, Any] | None = None
