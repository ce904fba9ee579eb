"""The users domain's errors.

==================  ======  ==========================================================
code                status  when
==================  ======  ==========================================================
email_taken         409     another account already uses this address (any letter case)
incorrect_password  400     the current password given to confirm a change is wrong
validation_error    422     a weak password or an unusable email address (``errors``
                            names the body field and the fix)
==================  ======  ==========================================================
"""

from __future__ import annotations

from collections.abc import Sequence

from keel.kit.errors import AppError, Conflict, ValidationFailed
from keel.users.rules import Violation


class EmailTaken(Conflict):
    """An account with this email address already exists (addresses are compared without
    letter case). Log in, or reset the password if it is forgotten."""

    code = "email_taken"
    title = "Email already registered"


class IncorrectPassword(AppError):
    """The current password given to confirm this change is not correct. Enter the password
    you log in with; if it is forgotten, reset it from the login page."""

    status = 400
    code = "incorrect_password"
    title = "Incorrect password"


class WeakPassword(ValidationFailed):
    """The password does not meet the policy; ``errors`` says what to change."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        super().__init__(
            "Choose a stronger password; see errors.",
            errors=[{"field": f"body.{v.field}", "message": v.message} for v in violations],
        )


class InvalidEmailAddress(ValidationFailed):
    """The email address cannot receive mail as written."""

    def __init__(self, reason: str, *, field: str = "email") -> None:
        super().__init__(
            "Enter a valid email address; see errors.",
            errors=[{"field": f"body.{field}", "message": reason}],
        )


class InvalidName(ValidationFailed):
    """The name is blank once surrounding spaces are removed."""

    def __init__(self) -> None:
        super().__init__(
            "Enter a name; see errors.",
            errors=[{"field": "body.name", "message": "Enter the name people know you by."}],
        )
