"""The organizations domain's API, one module per concept:

- ``access``: ``open_org`` — the proof of access every tenant route starts from;
- ``orgs``: organizations themselves;
- ``members``: memberships, roles, teams of members, the last-admin rule;
- ``teams``: teams;
- ``invitations``: invite, resend, revoke, accept;
- ``roles``: custom roles;
- ``policies``: ABAC policies and the explain answer;
- ``limits``: the hook where plan limits and features will be enforced.
"""

from keel.organizations.service import (
    access,
    invitations,
    limits,
    members,
    orgs,
    policies,
    roles,
    teams,
)

__all__ = ["access", "invitations", "limits", "members", "orgs", "policies", "roles", "teams"]
