"""The organizations domain's API shapes. Bodies extend ``Input`` (unknown fields are a 422),
so a client can never set ``organization_id``, ``status``, ``plan`` or a role it may not give
by adding a field."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, EmailStr, Field, field_validator

from keel.access.rules import PERMISSIONS
from keel.kit.schemas import Input
from keel.organizations import rules

OrgRole = Literal["guest", "user", "member", "manager", "admin"]
Slug = Annotated[str, Field(pattern=rules.SLUG_PATTERN, min_length=1, max_length=63)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


def _not_reserved(slug: str | None) -> str | None:
    if slug is not None and slug in rules.RESERVED_SLUGS:
        raise ValueError(f"{slug!r} is reserved; choose another slug")
    return slug


# ---- organizations -------------------------------------------------------------------------


class OrganizationCreate(Input):
    name: Name
    slug: Annotated[Slug | None, AfterValidator(_not_reserved)] = None
    industry: str | None = Field(default=None, max_length=100)
    team_size: str | None = Field(default=None, max_length=32)
    settings: dict[str, Any] = Field(default_factory=dict)


class OrganizationUpdate(Input):
    name: Name | None = None
    slug: Annotated[Slug | None, AfterValidator(_not_reserved)] = None
    industry: str | None = Field(default=None, max_length=100)
    team_size: str | None = Field(default=None, max_length=32)
    settings: dict[str, Any] | None = None


class OrganizationDelete(Input):
    password: str = Field(min_length=1, max_length=1024)


class OrganizationRead(BaseModel):
    id: uuid.UUID
    name: str
    slug: str
    plan: str
    industry: str | None
    team_size: str | None
    settings: dict[str, Any]
    status: str
    created_at: datetime
    updated_at: datetime
    #: The caller's role in it (None for a superadmin who is not a member).
    role: str | None = None


# ---- members and teams -----------------------------------------------------------------------


class MemberRead(BaseModel):
    user_id: uuid.UUID
    email: str
    name: str
    role: str
    custom_role_id: uuid.UUID | None
    team_id: uuid.UUID | None
    joined_at: datetime


@dataclass(frozen=True, slots=True)
class Contact:
    """Someone a job writes to on the organization's behalf (its admins)."""

    user_id: uuid.UUID
    email: str
    name: str


class MemberUpdate(Input):
    role: OrgRole | None = None
    custom_role_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None


class TeamCreate(Input):
    name: Annotated[str, Field(min_length=1, max_length=100)]


class TeamRead(BaseModel):
    id: uuid.UUID
    name: str
    member_count: int = 0
    created_at: datetime


# ---- invitations -----------------------------------------------------------------------------


class InvitationCreate(Input):
    email: EmailStr
    role: OrgRole = "member"
    team_id: uuid.UUID | None = None


class InvitationRead(BaseModel):
    id: uuid.UUID
    email: str
    role: str
    team_id: uuid.UUID | None
    status: Literal["pending", "accepted", "revoked", "expired"]
    created_at: datetime
    sent_at: datetime
    expires_at: datetime


class InvitationAccept(Input):
    token: str = Field(min_length=1, max_length=200)


# ---- custom roles ----------------------------------------------------------------------------


class GrantIn(Input):
    permission: str
    scope: Literal["own", "shared", "team", "organization"]

    @field_validator("permission")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in PERMISSIONS:
            raise ValueError(f"unknown permission; choose from {', '.join(sorted(PERMISSIONS))}")
        return value


class CustomRoleCreate(Input):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    description: str | None = Field(default=None, max_length=500)
    grants: list[GrantIn] = Field(min_length=1, max_length=len(PERMISSIONS))


class CustomRoleUpdate(Input):
    name: Annotated[str | None, Field(min_length=1, max_length=64)] = None
    description: str | None = Field(default=None, max_length=500)
    grants: list[GrantIn] | None = Field(default=None, min_length=1, max_length=len(PERMISSIONS))


class CustomRoleRead(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None
    grants: list[dict[str, str]]
    created_at: datetime


# ---- access policies (ABAC) ------------------------------------------------------------------


class AttributeEqualsIn(Input):
    type: Literal["attribute_equals"]
    target: Literal["user", "resource"]
    key: Annotated[str, Field(min_length=1, max_length=64)]
    value: str | int | float | bool


class AttributeInIn(Input):
    type: Literal["attribute_in"]
    target: Literal["user", "resource"]
    key: Annotated[str, Field(min_length=1, max_length=64)]
    values: list[str | int | float | bool] = Field(min_length=1, max_length=100)


class IpInIn(Input):
    type: Literal["ip_in"]
    cidrs: list[str] = Field(min_length=1, max_length=100)

    @field_validator("cidrs")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)  # ValueError names the bad entry
        return value


class TimeWindowIn(Input):
    type: Literal["time_window"]
    start: time
    end: time
    zone: str = Field(default="UTC", max_length=64)
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] | None = None


ConditionIn = Annotated[
    AttributeEqualsIn | AttributeInIn | IpInIn | TimeWindowIn, Field(discriminator="type")
]


class PolicyCreate(Input):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    description: str | None = Field(default=None, max_length=500)
    resource_type: Annotated[str, Field(min_length=1, max_length=64)]
    action: Annotated[str, Field(min_length=1, max_length=32)]
    effect: Literal["allow", "deny"]
    conditions: list[ConditionIn] = Field(default_factory=list, max_length=20)
    enabled: bool = True


class PolicyUpdate(Input):
    name: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    description: str | None = Field(default=None, max_length=500)
    effect: Literal["allow", "deny"] | None = None
    conditions: list[ConditionIn] | None = Field(default=None, max_length=20)
    enabled: bool | None = None


class PolicyRead(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None
    resource_type: str
    action: str
    effect: str
    conditions: list[dict[str, Any]]
    enabled: bool
    created_at: datetime
    updated_at: datetime


class ExplainResource(Input):
    type: Annotated[str, Field(min_length=1, max_length=64)]
    id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class ExplainContext(Input):
    ip: str | None = Field(default=None, max_length=45)
    time: datetime | None = None


class ExplainRequest(Input):
    user_id: uuid.UUID
    resource: ExplainResource
    action: Annotated[str, Field(min_length=1, max_length=32)]
    context: ExplainContext = Field(default_factory=ExplainContext)


class ExplainRead(BaseModel):
    allowed: bool
    decided_by: str
    role: str | None
    grant: str | None
    policy: dict[str, Any] | None
    condition: str | None
    trace: list[str]
