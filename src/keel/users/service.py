"""The users domain's API. (Skeleton: the identity work completes policy, events, audit.)"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.kit import security
from keel.users import repository, rules
from keel.users.models import ACTIVE, User

# Verifying against this when the email is unknown keeps "no such user" as slow as
# "wrong password", so timing does not reveal which accounts exist.
_DUMMY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$Ty491yMmzVo814Jv9mpbgg$V83LCKOSgwfF5Vva88bFKm1SsL0OnhHmDtfObsA5MSQ"


async def create(
    session: AsyncSession, actor: Actor, *, email: str, name: str, password: str
) -> User:
    user = User(
        email=rules.normalize_email(email),
        name=name.strip(),
        password_hash=await security.hash_password(password),
    )
    return await repository.add(session, user)


async def get(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await repository.get(session, user_id)


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    try:
        normalized = rules.normalize_email(email)
    except rules.InvalidEmail:
        return None
    return await repository.get_by_email(session, normalized)


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User | None:
    """The active user with this email and password, else None (same cost either way)."""
    user = await get_by_email(session, email)
    if user is None or user.password_hash is None:
        await security.verify_password(_DUMMY_HASH, password)
        return None
    if not await security.verify_password(user.password_hash, password):
        return None
    if security.password_needs_rehash(user.password_hash):
        user.password_hash = await security.hash_password(password)
    return user if user.status == ACTIVE else None
