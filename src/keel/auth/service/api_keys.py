"""API keys: an organization's machine credentials, issued by a member for automation.

A key is ``keel_`` + 256 random bits, shown once; only its SHA-256 and a display ``prefix``
are stored. A key never holds more than its creator: each permission must be one the
creator's role holds when the key is made, and every request with the key is checked against
the key's permissions *and* the creator's current role (``open_org`` builds the subject from
the creator's membership, ``access.check`` applies the key's list).

Resolving a key is the one cross-tenant read of a request (the secret names the
organization), so it lifts tenancy for that single query and restores it at once. Its record
is cached for ``CACHE_TTL_SECONDS`` (revocation deletes the entry); ``last_used_at`` is
written at most once per ``TOUCH_EVERY_SECONDS`` per key, in a short transaction of its own,
so read-only requests stay read-only and a busy key costs no write per request.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access import service as access
from keel.access.schemas import OrgAccess
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.auth import repository
from keel.auth.errors import PersonRequired
from keel.auth.events import ApiKeyCreated, ApiKeyRevoked
from keel.auth.models import ApiKey
from keel.auth.schemas import ApiKeyCreate, ApiKeyRead
from keel.events import service as events_service
from keel.kit import clock, security, tenancy
from keel.kit.cache import Cache
from keel.kit.db import Database
from keel.kit.errors import NotFound, PermissionDenied, ValidationFailed
from keel.plans import service as plans_service
from keel.users import service as users_service
from keel.users.models import ACTIVE

logger = logging.getLogger("keel.auth")

SECRET_PREFIX = "keel_"  # noqa: S105 -- the public marker of a key, not a secret
PREFIX_LENGTH = 12
CACHE_TTL_SECONDS = 60.0
TOUCH_EVERY_SECONDS = 60.0

Status = Literal["active", "revoked", "expired"]


def looks_like_key(token: str) -> bool:
    return token.startswith(SECRET_PREFIX)


def cache_key(secret_hash: str) -> str:
    return f"auth:api_key:{secret_hash}"


def status_of(key: ApiKey, *, now: datetime) -> Status:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    return "active"


def read(key: ApiKey) -> ApiKeyRead:
    return ApiKeyRead(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        permissions=list(key.permissions),
        created_by=key.created_by,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        status=status_of(key, now=clock.now()),
    )


# ---- managing keys (CanManageAccess routes) ---------------------------------------------------


async def create(session: AsyncSession, org: OrgAccess, data: ApiKeyCreate) -> tuple[ApiKey, str]:
    """Issue a key for ``org``'s caller; returns it and its secret, the only time it exists
    in clear."""
    creator = _person(org)
    _ensure_within_creator(org, data.permissions)
    await plans_service.ensure_feature(session, org, "api_access")
    if data.expires_at is not None and data.expires_at <= clock.now():
        raise ValidationFailed(
            "expires_at is in the past; give a future time, or omit it for a key that lasts.",
            errors=[{"field": "body.expires_at", "message": "must be in the future"}],
        )
    secret = SECRET_PREFIX + security.new_token()
    key = ApiKey(
        organization_id=org.org_id,
        name=data.name.strip(),
        prefix=secret[:PREFIX_LENGTH],
        secret_hash=security.token_hash(secret),
        permissions=list(data.permissions),
        created_by=creator,
        expires_at=data.expires_at,
    )
    await repository.ApiKeyRepository(session, org.org_id).add(key)
    await _record(session, org, key, "api_key.created", {"permissions": key.permissions})
    await events_service.publish(
        session,
        ApiKeyCreated(
            organization_id=key.organization_id,
            api_key_id=key.id,
            created_by=creator,
            permissions=key.permissions,
        ),
    )
    return key, secret


async def list_keys(session: AsyncSession, org: OrgAccess) -> list[ApiKey]:
    return await repository.ApiKeyRepository(session, org.org_id).newest_first()


async def count_active(session: AsyncSession, org: OrgAccess) -> int:
    return await repository.ApiKeyRepository(session, org.org_id).count_active(now=clock.now())


async def revoke(session: AsyncSession, org: OrgAccess, key_id: uuid.UUID, *, cache: Cache) -> None:
    """Idempotent: revoking a revoked key changes nothing and records nothing."""
    key = await repository.ApiKeyRepository(session, org.org_id).get(key_id)
    if key is None:
        raise NotFound("No API key with this id in this organization; list them to find it.")
    if key.revoked_at is not None:
        return
    key.revoked_at = clock.now()
    await session.flush()
    await cache.delete(cache_key(key.secret_hash))
    await _record(session, org, key, "api_key.revoked", None)
    await events_service.publish(
        session,
        ApiKeyRevoked(
            organization_id=key.organization_id, api_key_id=key.id, revoked_by=org.actor.user_id
        ),
    )


def _person(org: OrgAccess) -> uuid.UUID:
    """Keys are issued by a member in person: a key minting keys would let a leaked key
    outlive its own revocation, and a non-member's key could never be used."""
    user_id = org.actor.user_id
    if org.actor.kind != "user" or user_id is None:
        raise PersonRequired("Only a signed-in person may create API keys; use a user's token.")
    if org.role is None:
        raise PermissionDenied(
            "An API key acts for a member of the organization; join it before creating one."
        )
    return user_id


def _ensure_within_creator(org: OrgAccess, permissions: list[str]) -> None:
    missing = [p for p in permissions if not access.holds_somewhere(org, p)]
    if missing:
        raise PermissionDenied(
            "An API key never holds more than its creator, and your role does not include "
            f"{', '.join(missing)}; remove them from the key or ask an admin to create it.",
            permission=missing[0],
        )


async def _record(
    session: AsyncSession,
    org: OrgAccess,
    key: ApiKey,
    action: str,
    changes: dict[str, Any] | None,
) -> None:
    await audit_service.record(
        session,
        org.actor,
        action,
        target=Target(type="api_key", id=str(key.id), organization_id=key.organization_id),
        changes=changes,
        context={"name": key.name, "prefix": key.prefix},
    )


# ---- using a key (every request that sends one) -----------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyIdentity:
    """What a request needs to know about its key; cached, so plain JSON-able values."""

    id: uuid.UUID
    organization_id: uuid.UUID
    permissions: frozenset[str]
    created_by: uuid.UUID | None
    creator_active: bool
    expires_at: datetime | None
    revoked: bool

    def refusal(self, *, now: datetime) -> str | None:
        """Why this key may not be used now (None: it may)."""
        if self.revoked:
            return "This API key was revoked; create a new one."
        if self.expires_at is not None and self.expires_at <= now:
            return "This API key has expired; create a new one."
        if self.created_by is None or not self.creator_active:
            return "The person who created this API key can no longer act; create a new key."
        return None

    def dump(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "organization_id": str(self.organization_id),
            "permissions": sorted(self.permissions),
            "created_by": str(self.created_by) if self.created_by else None,
            "creator_active": self.creator_active,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "revoked": self.revoked,
        }

    @classmethod
    def load(cls, raw: dict[str, Any]) -> KeyIdentity:
        return cls(
            id=uuid.UUID(raw["id"]),
            organization_id=uuid.UUID(raw["organization_id"]),
            permissions=frozenset(raw["permissions"]),
            created_by=uuid.UUID(raw["created_by"]) if raw["created_by"] else None,
            creator_active=bool(raw["creator_active"]),
            expires_at=datetime.fromisoformat(raw["expires_at"]) if raw["expires_at"] else None,
            revoked=bool(raw["revoked"]),
        )


async def identify(session: AsyncSession, secret: str, *, cache: Cache) -> KeyIdentity | None:
    """The key behind ``secret`` (None when no key has it); the caller checks ``refusal``."""
    digest = security.token_hash(secret)
    cached = await cache.get(cache_key(digest))
    if isinstance(cached, dict):
        return KeyIdentity.load(cached)
    key = await _lookup(session, digest)
    if key is None:
        return None
    creator = await users_service.get(session, key.created_by) if key.created_by else None
    identity = KeyIdentity(
        id=key.id,
        organization_id=key.organization_id,
        permissions=frozenset(key.permissions),
        created_by=key.created_by,
        creator_active=creator is not None and creator.status == ACTIVE,
        expires_at=key.expires_at,
        revoked=key.revoked_at is not None,
    )
    await cache.set(cache_key(digest), identity.dump(), ttl=CACHE_TTL_SECONDS)
    return identity


async def _lookup(session: AsyncSession, digest: str) -> ApiKey | None:
    await tenancy.enter_platform(session, reason="an API key is found by its secret's hash")
    try:
        return await repository.api_key_by_hash(session, digest)
    finally:
        await tenancy.leave_platform(session)


async def note_used(database: Database, identity: KeyIdentity, *, cache: Cache) -> None:
    """Record ``last_used_at`` at most once a minute per key, in its own short transaction
    (the request's may be read-only); a failure here never fails the request."""
    if await cache.incr(f"auth:api_key_used:{identity.id}", ttl=TOUCH_EVERY_SECONDS) != 1:
        return
    try:
        async with database.transaction() as session:
            await tenancy.enter_tenant(session, identity.organization_id)
            await repository.touch_api_key(session, identity.id, now=clock.now())
    except SQLAlchemyError:
        logger.warning("api_key.touch_failed", extra={"api_key_id": str(identity.id)})
