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
    name = "organization.created"

    org_id: uuid.UUID
    slug: str
    created_by: uuid.UUID


class OrganizationUpdated(Event):
    name = "organization.updated"

    org_id: uuid.UUID
    fields: list[str]


class OrganizationDeleted(Event):
    name = "organization.deleted"

    org_id: uuid.UUID
    slug: str


class MemberInvited(Event):
    name = "member.invited"

    invitation_id: uuid.UUID
    role: str
    invited_by: uuid.UUID | None


class MemberJoined(Event):
    name = "member.joined"

    user_id: uuid.UUID
    role: str
    invitation_id: uuid.UUID | None = None


class MemberRoleChanged(Event):
    name = "member.role_changed"

    user_id: uuid.UUID
    role: str
    previous_role: str
    custom_role_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None


class MemberRemoved(Event):
    name = "member.removed"

    user_id: uuid.UUID
    role: str


class InvitationRevoked(Event):
    name = "invitation.revoked"

    invitation_id: uuid.UUID


class TeamCreated(Event):
    name = "team.created"

    team_id: uuid.UUID
    team_name: str


class TeamUpdated(Event):
    name = "team.updated"

    team_id: uuid.UUID
    team_name: str


class TeamDeleted(Event):
    name = "team.deleted"

    team_id: uuid.UUID


class CustomRoleCreated(Event):
    name = "custom_role.created"

    custom_role_id: uuid.UUID


class CustomRoleUpdated(Event):
    name = "custom_role.updated"

    custom_role_id: uuid.UUID


class CustomRoleDeleted(Event):
    name = "custom_role.deleted"

    custom_role_id: uuid.UUID


class AccessPolicyCreated(Event):
    name = "access_policy.created"

    policy_id: uuid.UUID


class AccessPolicyUpdated(Event):
    name = "access_policy.updated"

    policy_id: uuid.UUID


class AccessPolicyDeleted(Event):
    name = "access_policy.deleted"

    policy_id: uuid.UUID
