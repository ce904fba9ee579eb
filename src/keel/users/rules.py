"""Pure rules about users: how an email address is normalized."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email


class InvalidEmail(ValueError):
    pass


def normalize_email(address: str) -> str:
    """One spelling per mailbox: IDNA domain, lower-cased whole address (Keel treats the
    local part case-insensitively, as every major provider does)."""
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from None
