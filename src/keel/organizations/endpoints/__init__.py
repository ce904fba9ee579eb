"""The organizations domain's HTTP surface under ``/api/v1``: one module per concern.

``ROUTERS`` lists the leaf routers; ``keel.api`` mounts each one directly on the app."""

from keel.organizations.endpoints import (
    admin,
    api_keys,
    invitations,
    me,
    members,
    orgs,
    policies,
    roles,
    teams,
)

ROUTERS = tuple(
    module.router
    for module in (me, orgs, members, teams, invitations, roles, policies, api_keys, admin)
)
