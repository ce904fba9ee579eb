"""The organizations domain's HTTP surface under ``/api/v1``: one module per concern."""

from keel.kit.routing import api_router
from keel.organizations.endpoints import (
    api_keys,
    invitations,
    me,
    members,
    orgs,
    policies,
    roles,
    teams,
)

router = api_router()
for module in (me, orgs, members, teams, invitations, roles, policies, api_keys):
    router.include_router(module.router)
