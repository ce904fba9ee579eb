"""The organizations domain's errors.

=======================  ======  ===========================================================
code                     status  when
=======================  ======  ===========================================================
not_found                404     the organization (or an object in it) does not exist *for
                                 the caller*: another tenant's object looks exactly like a
                                 missing one
slug_taken               409     another organization already uses the slug
last_admin               409     the change would leave the organization without an admin
already_member           409     the user already belongs to the organization
role_name_taken          409     a custom role of that name already exists here
organization_suspended   403     the organization is suspended; only the platform may act
role_too_high            403     an invitation or role change above the caller's own role
invitation_invalid       400     an invitation link that is unknown, used, revoked or expired
invitation_email_mismatch 403    the invitation was sent to another address
team_not_empty           409     (reserved) a team still referenced where it must not be
team_name_taken          409     another team of the organization already has the name
policy_invalid           422     an access policy's conditions do not parse
=======================  ======  ===========================================================
"""

from __future__ import annotations

from keel.kit.errors import AppError, Conflict, NotFound, PermissionDenied, ValidationFailed


class OrganizationNotFound(NotFound):
    """No organization with this id exists for you. Check the id, or ask to be invited."""


class ObjectNotFound(NotFound):
    """Nothing with this id exists in this organization for you. Check the id."""


class SlugTaken(Conflict):
    """Another organization already uses this slug. Choose another one."""

    code = "slug_taken"
    title = "Slug taken"


class LastAdmin(Conflict):
    """An organization always keeps at least one admin. Make someone else admin first."""

    code = "last_admin"
    title = "Last admin"


class RoleNameTaken(Conflict):
    """This organization already has a custom role with that name. Choose another name."""

    code = "role_name_taken"
    title = "Role name taken"


class AlreadyMember(Conflict):
    """This person already belongs to the organization. Change their role instead."""

    code = "already_member"
    title = "Already a member"


class TeamNameTaken(Conflict):
    """Another team of this organization already has this name. Choose another name."""

    code = "team_name_taken"
    title = "Team name taken"


class OrganizationSuspended(PermissionDenied):
    """The organization is suspended. Contact the platform's support to restore it."""

    code = "organization_suspended"
    title = "Organization suspended"


class RoleTooHigh(PermissionDenied):
    """You cannot give a role above your own. Ask an admin to do it."""

    code = "role_too_high"
    title = "Role above yours"


class InvitationInvalid(AppError):
    """The invitation link is unknown, already used, revoked or expired. Ask the organization
    for a new invitation."""

    status = 400
    code = "invitation_invalid"
    title = "Invalid invitation"


class InvitationEmailMismatch(PermissionDenied):
    """The invitation was sent to another email address. Log in with that address (or
    register with it) and open the link again."""

    code = "invitation_email_mismatch"
    title = "Invitation for another address"


class PolicyInvalid(ValidationFailed):
    """An access policy's conditions are not valid. The ``errors`` list names each field."""

    code = "policy_invalid"
    title = "Invalid access policy"
