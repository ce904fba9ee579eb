"""The auth domain's errors. Each names what happened and says how to recover.

===============  ======  ========================================================
code             status  when
===============  ======  ========================================================
token_invalid    400     an emailed link's token is unknown, used, expired or for
                         another purpose (the detail says which fix applies)
person_required  403     an API key called a route only a signed-in person may
                         use (``/me``, creating organizations, API keys)
===============  ======  ========================================================

``rate_limited`` (429, :class:`keel.kit.errors.RateLimited`) is raised as is, with
``limit``, ``window`` and ``retry_after``.
"""

from __future__ import annotations

from keel.kit.errors import AppError, Conflict, PermissionDenied, RateLimited, ValidationFailed


class TokenInvalid(AppError):
    """The token from the emailed link is not valid: it was already used, it was replaced by a
    newer one, or it was never issued. Request a new link and use the most recent email."""

    status = 400
    code = "token_invalid"
    title = "Invalid or used link"


class TokenExpired(TokenInvalid):
    """The emailed link is older than its lifetime. Request a new one."""

    title = "Expired link"


# --- Login, tokens and sessions ---------------------------------------------------------------
# Errors with ``keeps_changes = True`` are refusals that must leave a trace: the request's
# transaction commits the audit entries, the lock or the revocation written before they were
# raised (see ``keel.kit.deps.get_session``).


class InvalidCredentials(AppError):
    """The email and password do not match an account that may log in now. Check both and
    try again; after repeated failures wait a few minutes, or reset the password."""

    status = 401
    code = "invalid_credentials"
    title = "Invalid email or password"
    keeps_changes = True


class RefreshTokenInvalid(AppError):
    """The refresh token is unknown, expired, already used or its session has ended. Log in
    again to get a new pair of tokens."""

    status = 401
    code = "refresh_token_invalid"
    title = "Invalid refresh token"
    keeps_changes = True


class LoginRateLimited(RateLimited):
    """Too many failed logins from this address. Wait ``retry_after`` seconds."""


# --- MFA ---------------------------------------------------------------------------------


class MfaAlreadyEnabled(Conflict):
    """Two-factor authentication is already on. Disable it first to enroll a new device."""

    code = "mfa_already_enabled"
    title = "MFA already enabled"


class MfaNotEnrolled(Conflict):
    """There is no two-factor enrollment to confirm or use. Start one with
    ``POST /api/v1/me/mfa/totp``."""

    code = "mfa_not_enrolled"
    title = "MFA not enrolled"


class InvalidMfaCode(ValidationFailed):
    """The code is wrong, expired or was already used. Enter the current code from your
    authenticator app, or an unused recovery code."""

    code = "invalid_mfa_code"
    title = "Invalid MFA code"


class MfaVerificationFailed(AppError):
    """The second login step failed: the code is wrong or already used, the MFA token
    expired, or too many codes were tried with it. Enter a current code, or log in again."""

    status = 401
    code = "mfa_verification_failed"
    title = "MFA verification failed"
    keeps_changes = True


class MfaEnrollmentRequired(AppError):
    """This account must turn on two-factor authentication before it may do anything else.
    Enroll with ``POST /api/v1/me/mfa/totp`` and confirm with a code from your app."""

    status = 403
    code = "mfa_enrollment_required"
    title = "MFA enrollment required"


# --- API keys -----------------------------------------------------------------------------


class PersonRequired(PermissionDenied):
    """This action needs a person signed in (an access token from login); an API key acts
    for an organization's automation and may not do it. Call it with a user's token."""

    code = "person_required"
    title = "A person must do this"
