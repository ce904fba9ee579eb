"""Tables of the tenant: organizations, their members, teams, invitations, custom roles and
access policies. Every table but ``organizations`` carries ``organization_id`` (not null,
indexed, first in every unique key) and sits behind row-level security on PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from keel.kit import clock
from keel.kit.db import Base, IdMixin, JSONDocument, TimestampMixin

ACTIVE, SUSPENDED = "active", "suspended"


def _org_fk() -> Mapped[uuid.UUID]:
    return mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))


class Organization(IdMixin, TimestampMixin, Base):
    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    plan: Mapped[str] = mapped_column(String(64), default="free")
    industry: Mapped[str | None] = mapped_column(String(100))
    team_size: Mapped[str | None] = mapped_column(String(32))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    #: Bumped on every change to the organization's policies or custom roles, so a cached
    #: compiled policy set is known stale without asking the database.
    access_version: Mapped[int] = mapped_column(default=1)


class Team(IdMixin, TimestampMixin, Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    organization_id: Mapped[uuid.UUID] = _org_fk()
    name: Mapped[str] = mapped_column(String(100))


class CustomRole(IdMixin, TimestampMixin, Base):
    """Extra grants given on top of a member's built-in role (``[{permission, scope}]``)."""

    __tablename__ = "custom_roles"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    organization_id: Mapped[uuid.UUID] = _org_fk()
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(500))
    grants: Mapped[list[dict[str, str]]] = mapped_column(JSONDocument(), default=list)


class Membership(IdMixin, Base):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("organization_id", "user_id"),
        Index("ix_memberships_organization_id_role", "organization_id", "role"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    custom_role_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("custom_roles.id", ondelete="SET NULL"), index=True
    )
    team_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), index=True
    )
    joined_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class Invitation(IdMixin, Base):
    """A single-use, expiring offer to join; only the SHA-256 of its token is kept."""

    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitations_organization_id_email", "organization_id", "email"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    sent_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    revoked_at: Mapped[datetime | None]


class AccessPolicy(IdMixin, TimestampMixin, Base):
    """An ABAC policy an organization admin wrote (conditions as JSON, see schemas)."""

    __tablename__ = "access_policies"
    __table_args__ = (
        Index(
            "ix_access_policies_organization_id_resource_type", "organization_id", "resource_type"
        ),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(500))
    resource_type: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    effect: Mapped[str] = mapped_column(String(8))
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument(), default=list)
    enabled: Mapped[bool] = mapped_column(default=True, server_default=true())
