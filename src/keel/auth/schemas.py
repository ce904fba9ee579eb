"""Request and response bodies of the auth endpoints (CONTRACT.md "Authentication")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from keel.access.rules import PERMISSIONS
from keel.kit.schemas import Input
from keel.users.rules import MAX_PASSWORD_LENGTH

#: Generous upper bounds: the real rules run in the service, these only keep junk out early.
_EMAIL = Field(min_length=3, max_length=320)
_TOKEN = Field(min_length=1, max_length=200)
# A password is measured in code points after NFKC; the raw input may be a little longer.
_PASSWORD = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH * 4)


class RegisterRequest(BaseModel):
    email: str = _EMAIL
    password: str = _PASSWORD
    name: str = Field(min_length=1, max_length=200)


class TokenRequest(BaseModel):
    """The token from an emailed link (``?token=...``)."""

    token: str = _TOKEN


class EmailRequest(BaseModel):
    email: str = _EMAIL


class PasswordResetRequest(BaseModel):
    token: str = _TOKEN
    password: str = _PASSWORD


class Accepted(BaseModel):
    """The same answer whatever the outcome, so it reveals nothing about the account."""

    status: str = "accepted"


# --- Login, tokens, sessions, me -------------------------------------------------------------


class LoginRequest(BaseModel):
    email: str = _EMAIL
    password: str = _PASSWORD


class TokenPairRead(BaseModel):
    """CONTRACT's token answer; ``status`` tells it apart from :class:`MfaRequiredRead`."""

    status: Literal["authenticated"] = "authenticated"
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the scheme name, not a secret
    expires_in: int


class MfaRequiredRead(BaseModel):
    status: Literal["mfa_required"] = "mfa_required"
    mfa_token: str


class RefreshRequest(BaseModel):
    refresh_token: str = _TOKEN


class SessionRead(BaseModel):
    id: uuid.UUID
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None
    current: bool


class SessionList(BaseModel):
    items: list[SessionRead]
    next_cursor: str | None = None


class RevokedSessions(BaseModel):
    revoked: int


class MembershipRead(BaseModel):
    id: uuid.UUID
    name: str
    role: str


class MeRead(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    email_verified: bool
    mfa_enabled: bool
    organizations: list[MembershipRead]


class PasswordChangeRequest(BaseModel):
    current_password: str = _PASSWORD
    new_password: str = _PASSWORD
    end_other_sessions: bool = True


class EmailChangeRequest(BaseModel):
    password: str = _PASSWORD
    new_email: str = _EMAIL


class PasswordConfirmation(BaseModel):
    password: str = _PASSWORD


class MfaCodeRequest(BaseModel):
    code: str = Field(min_length=6, max_length=32)


class MfaDisableRequest(BaseModel):
    password: str = _PASSWORD
    code: str = Field(min_length=6, max_length=32)


class MfaVerifyRequest(BaseModel):
    mfa_token: str = Field(min_length=1, max_length=2000)
    code: str = Field(min_length=6, max_length=32)


class TotpEnrollmentRead(BaseModel):
    secret: str
    otpauth_uri: str
    qr_svg: str


class RecoveryCodesRead(BaseModel):
    recovery_codes: list[str]


# --- API keys -----------------------------------------------------------------------------


class ApiKeyCreate(Input):
    name: str = Field(min_length=1, max_length=100)
    permissions: list[str] = Field(min_length=1, max_length=len(PERMISSIONS))
    expires_at: AwareDatetime | None = None

    @field_validator("permissions")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - PERMISSIONS)
        if unknown:
            known = ", ".join(sorted(PERMISSIONS))
            raise ValueError(f"unknown permission(s) {', '.join(unknown)}; choose from {known}")
        return sorted(set(value))


class ApiKeyRead(BaseModel):
    """An API key as listed: never its secret, nor the secret's hash."""

    id: uuid.UUID
    name: str
    prefix: str
    permissions: list[str]
    created_by: uuid.UUID | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    status: Literal["active", "revoked", "expired"]


class ApiKeyCreated(ApiKeyRead):
    """The answer to creating a key: the only time ``secret`` is shown. Store it now."""

    secret: str
