"""Events the organizations domain publishes (payloads carry ids, never secrets or tokens):

==========================  ==========================================================
name                        when
==========================  ==========================================================
organization.created        someone created an organization (and became its admin)
organization.updated        name, slug, industry, team size or settings changed
organization.deleted        an admin deleted the organization
member.invited              an invitation was sent (or sent again)
member.joined               a person accepted an invitation (or created the org)
member.role_changed         a member's role, custom role or team changed
member.removed              a member was removed or left
invitation.revoked          an invitation was withdrawn before use
team.created                a team was created
team.updated                a team was renamed
team.deleted                a team was deleted (its members keep their membership)
custom_role.created         an admin defined a custom role
custom_role.updated         its grants or name changed
custom_role.deleted         it was deleted (members fall back to their built-in role)
access_policy.created       an admin wrote an ABAC policy
access_policy.updated       a policy changed (conditions, effect, enabled)
access_policy.deleted       a policy was deleted
==========================  ==========================================================
"""

from __future__ import annotations

import uuid

from keel.events.schemas import Event


class OrganizationCreated(Event):
    """Someone created an organization and became its admin (also the personal
    organization made at sign-up)."""

    name = "organization.created"
    example = {
        "org_id": "0193a1b0-1111-7aaa-8bbb-0c1d2e3f4a5b",
        "slug": "acme",
        "created_by": "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b",
    }

    org_id: uuid.UUID
    slug: str
    created_by: uuid.UUID


class OrganizationUpdated(Event):
    """An admin changed the organization; ``fields`` names what (``name``, ``slug``,
    ``industry``, ``team_size``, ``settings``)."""

    name = "organization.updated"
    example = {
        "org_id": "0193a1b0-1111-7aaa-8bbb-0c1d2e3f4a5b",
        "fields": ["industry", "team_size"],
    }

    org_id: uuid.UUID
    fields: list[str]


class OrganizationDeleted(Event):
    """An admin deleted the organization and everything in it."""

    name = "organization.deleted"
    example = {"org_id": "0193a1b0-1111-7aaa-8bbb-0c1d2e3f4a5b", "slug": "acme"}

    org_id: uuid.UUID
    slug: str


class MemberInvited(Event):
    """An invitation was sent (or sent again); ``invited_by`` is None when Keel sent it."""

    name = "member.invited"
    example = {
        "invitation_id": "0193a1c2-4444-7aaa-8bbb-0c1d2e3f4a5b",
        "role": "member",
        "invited_by": "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b",
    }

    invitation_id: uuid.UUID
    role: str
    invited_by: uuid.UUID | None


class MemberJoined(Event):
    """A person joined: they accepted ``invitation_id``, or created the organization
    (no invitation)."""

    name = "member.joined"
    example = {
        "user_id": "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a60",
        "role": "member",
        "invitation_id": "0193a1c2-4444-7aaa-8bbb-0c1d2e3f4a5b",
    }

    user_id: uuid.UUID
    role: str
    invitation_id: uuid.UUID | None = None


class MemberRoleChanged(Event):
    """A member's role, custom role or team changed."""

    name = "member.role_changed"
    example = {
        "user_id": "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a60",
        "role": "manager",
        "previous_role": "member",
        "custom_role_id": None,
        "team_id": "0193a1c3-5555-7ccc-8ddd-0c1d2e3f4a5b",
    }

    user_id: uuid.UUID
    role: str
    previous_role: str
    custom_role_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None


class MemberRemoved(Event):
    """A member was removed by an admin, or left."""

    name = "member.removed"
    example = {"user_id": "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a60", "role": "member"}

    user_id: uuid.UUID
    role: str


class InvitationRevoked(Event):
    """An invitation was withdrawn before it was used."""

    name = "invitation.revoked"
    example = {"invitation_id": "0193a1c2-4444-7aaa-8bbb-0c1d2e3f4a5b"}

    invitation_id: uuid.UUID


class TeamCreated(Event):
    """A team was created."""

    name = "team.created"
    example = {"team_id": "0193a1c3-5555-7ccc-8ddd-0c1d2e3f4a5b", "team_name": "Platform"}

    team_id: uuid.UUID
    team_name: str


class TeamUpdated(Event):
    """A team was renamed."""

    name = "team.updated"
    example = {
        "team_id": "0193a1c3-5555-7ccc-8ddd-0c1d2e3f4a5b",
        "team_name": "Platform engineering",
    }

    team_id: uuid.UUID
    team_name: str


class TeamDeleted(Event):
    """A team was deleted; its members stay in the organization, teamless."""

    name = "team.deleted"
    example = {"team_id": "0193a1c3-5555-7ccc-8ddd-0c1d2e3f4a5b"}

    team_id: uuid.UUID


class CustomRoleCreated(Event):
    """An admin defined a custom role."""

    name = "custom_role.created"
    example = {"custom_role_id": "0193a1c4-6666-7eee-8fff-0c1d2e3f4a5b"}

    custom_role_id: uuid.UUID


class CustomRoleUpdated(Event):
    """A custom role's name or grants changed."""

    name = "custom_role.updated"
    example = {"custom_role_id": "0193a1c4-6666-7eee-8fff-0c1d2e3f4a5b"}

    custom_role_id: uuid.UUID


class CustomRoleDeleted(Event):
    """A custom role was deleted; its members fall back to their built-in role."""

    name = "custom_role.deleted"
    example = {"custom_role_id": "0193a1c4-6666-7eee-8fff-0c1d2e3f4a5b"}

    custom_role_id: uuid.UUID


class AccessPolicyCreated(Event):
    """An admin wrote an ABAC access policy."""

    name = "access_policy.created"
    example = {"policy_id": "0193a1c5-7777-7aaa-8bbb-0c1d2e3f4a5b"}

    policy_id: uuid.UUID


class AccessPolicyUpdated(Event):
    """An access policy changed (conditions, effect, enabled)."""

    name = "access_policy.updated"
    example = {"policy_id": "0193a1c5-7777-7aaa-8bbb-0c1d2e3f4a5b"}

    policy_id: uuid.UUID


class AccessPolicyDeleted(Event):
    """An access policy was deleted."""

    name = "access_policy.deleted"
    example = {"policy_id": "0193a1c5-7777-7aaa-8bbb-0c1d2e3f4a5b"}

    policy_id: uuid.UUID
