"""The organizations domain's API, one module per concept:

- ``access``: ``open_org`` — the proof of access every tenant route starts from;
- ``orgs``: organizations themselves;
- ``members``: memberships, roles, teams of members, the last-admin rule;
- ``teams``: teams;
- ``invitations``: invite, resend, revoke, accept;
- ``roles``: custom roles;
- ``policies``: ABAC policies and the explain answer.

Plan limits and features are enforced by ``keel.plans.service`` (``ensure_within_limit``,
``ensure_feature``), called before the write they guard.
"""

from keel.organizations.service import (
    access,
    invitations,
    members,
    orgs,
    policies,
    roles,
    teams,
)

__all__ = ["access", "invitations", "members", "orgs", "policies", "roles", "teams"]
