"""Events the users domain publishes (payloads carry ids, never secrets):

=======================  ===================================================
name                     when
=======================  ===================================================
user.created             an account was registered or created by an operator
user.updated             profile fields or the email address changed
user.email_verified      the owner proved they receive mail at the address
user.password_changed    the password was changed (``reason``: changed|reset)
user.erasure_requested   the owner asked for the account to be erased
=======================  ===================================================
"""

from __future__ import annotations

import uuid
from typing import Literal

from keel.events.schemas import Event


class UserCreated(Event):
    name = "user.created"

    user_id: uuid.UUID
    email: str
    display_name: str


class UserUpdated(Event):
    name = "user.updated"

    user_id: uuid.UUID
    fields: list[str]


class UserEmailVerified(Event):
    name = "user.email_verified"

    user_id: uuid.UUID


class PasswordChanged(Event):
    name = "user.password_changed"

    user_id: uuid.UUID
    reason: Literal["changed", "reset"]


class UserErasureRequested(Event):
    name = "user.erasure_requested"

    user_id: uuid.UUID
