"""Access rules: the permission catalog, RBAC with scopes, ABAC policies and the explain trace.

Pure: plain data in, a decision out, no I/O. Permissions are ``resource:action``. A grant pairs a
permission with the widest *scope* it reaches, and each scope includes every narrower one::

    own < shared < team < organization < global

- ``own``: the subject owns the resource (``resource.owner_id == subject.user_id``);
- ``shared``: the resource's ``shared_with`` attribute (a collection of user ids) names the
  subject — how a guest sees what was shared with it, without becoming a member of anything;
- ``team``: the resource belongs to one of the subject's teams;
- ``organization``: the resource belongs to the subject's organization;
- ``global``: anything anywhere, held only by the platform ``superadmin``.

A resource of another organization is refused before any grant is read, except for a superadmin.
Organization roles inherit everything below them (admin > manager > member > user > guest), so
each cell is the effective scope (``-``: not granted). A member differs from a user by reading
the organization's content (projects and documents) beyond its own: members are the colleagues
who work in the organization, users are people given a seat for their own work only::

    permission         guest   user    member  manager admin   superadmin
    analytics:read     -       -       -       org     org     global
    audit:read         -       -       -       -       org     global
    billing:read       -       -       -       -       org     global
    billing:update     -       -       -       -       org     global
    documents:delete   -       -       -       team    org     global
    documents:read     shared  shared  org     org     org     global
    documents:write    -       own     own     team    org     global
    profile:read       own     own     own     own     own     global
    profile:write      -       own     own     own     own     global
    projects:delete    -       -       -       team    org     global
    projects:read      shared  shared  org     org     org     global
    projects:write     -       own     own     team    org     global
    settings:read      -       -       -       -       org     global
    settings:update    -       -       -       -       org     global
    team:read          -       -       -       team    org     global
    team:write         -       -       -       team    org     global
    users:create       -       -       -       -       org     global
    users:delete       -       -       -       -       org     global
    users:read         -       -       -       org     org     global
    users:update       -       -       -       -       org     global
    webhooks:read      -       -       -       -       org     global
    webhooks:write     -       -       -       -       org     global

ABAC runs after RBAC and only narrows it: among the policies of the resource type and action,
any deny whose conditions all hold denies (deny overrides); if allow policies exist, one of them
must hold entirely; with no policy, RBAC's answer stands. A missing attribute satisfies no
condition, so an allow policy fails closed and a deny policy does not fire on absent data.
"""

from keel.access.rules.abac import (
    EMPTY_POLICIES,
    EVERY_DAY,
    MONDAY_TO_FRIDAY,
    AttributeEquals,
    AttributeIn,
    Decision,
    Environment,
    IpInNetworks,
    Policy,
    PolicySet,
    TimeWindow,
    decide,
)
from keel.access.rules.catalog import (
    PERMISSIONS,
    ROLE_ORDER,
    ROLES,
    SCOPES,
    SUPERADMIN,
    Grant,
    Ref,
    Role,
    Scope,
    catalog_table,
    custom_role,
    role_at_least,
)
from keel.access.rules.rbac import RbacResult, Resource, Subject, rbac_decide, roles_named

__all__ = [
    "EMPTY_POLICIES",
    "EVERY_DAY",
    "MONDAY_TO_FRIDAY",
    "PERMISSIONS",
    "ROLES",
    "ROLE_ORDER",
    "SCOPES",
    "SUPERADMIN",
    "AttributeEquals",
    "AttributeIn",
    "Decision",
    "Environment",
    "Grant",
    "IpInNetworks",
    "Policy",
    "PolicySet",
    "RbacResult",
    "Ref",
    "Resource",
    "Role",
    "Scope",
    "Subject",
    "TimeWindow",
    "catalog_table",
    "custom_role",
    "decide",
    "rbac_decide",
    "role_at_least",
    "roles_named",
]
