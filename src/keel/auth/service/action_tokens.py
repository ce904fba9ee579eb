"""Single-use tokens sent by email (verify an address, reset a password, confirm an email
change, unlock an account). The link carries 256 random bits; the table keeps only their
SHA-256. Issuing a new token voids the older unused ones for the same purpose, and using one
is an atomic conditional UPDATE, so a link works once even under concurrent clicks."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from keel.auth import repository
from keel.auth.errors import TokenExpired, TokenInvalid
from keel.auth.models import ActionToken
from keel.kit import clock, security
from keel.users import service as users_service
from keel.users.models import User

VERIFY_EMAIL, RESET_PASSWORD, CHANGE_EMAIL, UNLOCK = (
    "verify_email",
    "reset_password",
    "change_email",
    "unlock",
)


async def issue(
    session: AsyncSession,
    user_id: uuid.UUID,
    purpose: str,
    lifetime: timedelta,
    *,
    data: dict[str, Any] | None = None,
) -> str:
    now = clock.now()
    await repository.void_action_tokens(session, user_id, purpose, now=now)
    token = security.new_token()
    await repository.add_action_token(
        session,
        ActionToken(
            user_id=user_id,
            purpose=purpose,
            token_hash=security.token_hash(token),
            data=data or {},
            created_at=now,
            expires_at=now + lifetime,
        ),
    )
    return token


async def consume(session: AsyncSession, token: str, purpose: str) -> tuple[User, dict[str, Any]]:
    """Mark the token used and return its user and data, or raise saying why it can't be."""
    digest = security.token_hash(token)
    claimed = await repository.claim_action_token(session, digest, purpose, now=clock.now())
    if claimed is None:
        raise await _why_unusable(session, digest, purpose)
    user = await users_service.get(session, claimed[0])
    if user is None:
        raise TokenInvalid("This link's account no longer exists.")
    return user, claimed[1]


async def _why_unusable(session: AsyncSession, digest: str, purpose: str) -> TokenInvalid:
    row = await repository.action_token_by_hash(session, digest)
    if row is not None and row.purpose == purpose and row.used_at is None:
        return TokenExpired("This link has expired; request a new one and use it sooner.")
    return TokenInvalid(
        "This link is not valid: it was already used or replaced by a newer one. "
        "Request a new link and use the most recent email."
    )
