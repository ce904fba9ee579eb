"""Events the users domain publishes (payloads carry ids, never secrets):

=========================  ===================================================
name                       when
=========================  ===================================================
user.created               an account was registered or created by an operator
user.updated               profile fields or the email address changed
user.email_verified        the owner proved they receive mail at the address
user.password_changed      the password was changed (``reason``: changed|reset)
user.erasure_requested     the owner asked for the account to be erased
user.onboarding_completed  every onboarding step is done or skipped
=========================  ===================================================
"""

from __future__ import annotations

import uuid
from typing import Literal

from keel.events.schemas import Event


class UserCreated(Event):
    """An account was registered (``POST /api/v1/auth/register``) or created by an
    operator. Subscribers: welcome email, sign-up analytics, onboarding sequence, personal
    organization."""

    name = "user.created"
    example = {
        "user_id": "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b",
        "email": "ada@example.com",
        "display_name": "Ada Lovelace",
    }

    user_id: uuid.UUID
    email: str
    display_name: str


class UserUpdated(Event):
    """The user's profile (``name``, ``attributes``) or email address changed; ``fields``
    names what."""

    name = "user.updated"
    example = {"user_id": "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b", "fields": ["name"]}

    user_id: uuid.UUID
    fields: list[str]


class UserEmailVerified(Event):
    """The user proved they receive mail at their address (the verification link)."""

    name = "user.email_verified"
    example = {"user_id": "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b"}

    user_id: uuid.UUID


class PasswordChanged(Event):
    """The password was changed by its owner (``changed``) or through a reset link
    (``reset``)."""

    name = "user.password_changed"
    example = {"user_id": "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b", "reason": "changed"}

    user_id: uuid.UUID
    reason: Literal["changed", "reset"]


class UserErasureRequested(Event):
    """The owner deleted their account: it is disabled at once, erased later."""

    name = "user.erasure_requested"
    example = {"user_id": "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b"}

    user_id: uuid.UUID


class UserOnboardingCompleted(Event):
    """Every step of the user's onboarding checklist is done or skipped (``skipped``
    lists the skipped ones); the day 1/3/7 emails stop."""

    name = "user.onboarding_completed"
    example = {"user_id": "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b", "skipped": ["integrations"]}

    user_id: uuid.UUID
    skipped: list[str]
