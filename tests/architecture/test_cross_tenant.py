"""The generated cross-tenant matrix (GUIDE §5): every tenant-scoped route and verb, called by
tenant B's admin with tenant A's ids, answers 404 and changes nothing in tenant A.

Two attacks per route:

- *foreign organization*: B's token, A's ``{org_id}`` and A's object ids;
- *foreign object* (routes with an object id): B's token, B's own ``{org_id}``, A's object
  ids — the tenant repositories must not find A's rows through B's proof of access.

A route is matched to tenant A's objects by the collection before each path parameter
(``.../projects/{project_id}`` -> A's project). A new tenant route whose body is not in
:data:`BODIES` fails the test until a valid sample body is added, so the matrix never
silently skips a route.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.auth.models import ApiKey
from keel.config import Settings
from keel.kit import clock, tenancy
from keel.kit.security import token_hash
from keel.models import metadata
from keel.organizations.models import AccessPolicy, CustomRole, Invitation, Organization, Team
from keel.projects.models import Document, Project
from tests.architecture.test_routes import api_routes
from tests.helpers.tenancy import Caller, add_member, make_caller, make_org, make_user
from tests.webhooks.builders import seed_delivery

_PARAM = re.compile(r"\{(\w+)\}")

#: A valid body per (method, path) for the routes that take one: the attack must reach the
#: service (where the tenant lookup happens), not stop at body validation.
_ORG = "/api/v1/orgs/{org_id}"
BODIES: dict[tuple[str, str], dict[str, Any] | None] = {
    ("PATCH", _ORG): {"name": "Taken over"},
    ("DELETE", _ORG): {"password": "correct horse battery staple"},
    ("PATCH", f"{_ORG}/members/{{user_id}}"): {"role": "member"},
    ("POST", f"{_ORG}/teams"): {"name": "Intruders"},
    ("PATCH", f"{_ORG}/teams/{{team_id}}"): {"name": "Renamed"},
    ("POST", f"{_ORG}/invitations"): {"email": "intruder@example.com", "role": "member"},
    ("POST", f"{_ORG}/invitations/{{invitation_id}}/resend"): None,
    ("POST", f"{_ORG}/roles"): {
        "name": "Intruder",
        "grants": [{"permission": "documents:read", "scope": "organization"}],
    },
    ("PATCH", f"{_ORG}/roles/{{role_id}}"): {"name": "Renamed"},
    ("POST", f"{_ORG}/access/policies"): {
        "name": "Open",
        "resource_type": "documents",
        "action": "read",
        "effect": "allow",
    },
    ("PATCH", f"{_ORG}/access/policies/{{policy_id}}"): {"enabled": False},
    ("POST", f"{_ORG}/access/explain"): {
        "user_id": str(uuid.uuid4()),
        "resource": {"type": "documents"},
        "action": "read",
    },
    ("POST", f"{_ORG}/api-keys"): {"name": "Intruder", "permissions": ["documents:read"]},
    ("POST", f"{_ORG}/projects"): {"name": "Intruder"},
    ("PATCH", f"{_ORG}/projects/{{project_id}}"): {"name": "Renamed"},
    ("POST", f"{_ORG}/projects/{{project_id}}/documents"): {"title": "Planted", "body": "x"},
    ("PATCH", f"{_ORG}/projects/{{project_id}}/documents/{{document_id}}"): {"title": "Changed"},
    ("PUT", "/api/v1/admin/orgs/{org_id}/plan"): {"plan": "enterprise"},
    ("PUT", "/api/v1/admin/orgs/{org_id}/plan-override"): {"features": {"max_projects": -1}},
    ("POST", f"{_ORG}/webhooks"): {"url": "https://example.com/hook"},
    ("PATCH", f"{_ORG}/webhooks/{{webhook_id}}"): {"description": "Taken over"},
    ("POST", f"{_ORG}/webhooks/{{webhook_id}}/rotate-secret"): None,
    ("POST", f"{_ORG}/webhooks/{{webhook_id}}/test"): None,
    ("POST", f"{_ORG}/webhooks/{{webhook_id}}/deliveries/{{delivery_id}}/redeliver"): None,
    ("PUT", f"{_ORG}/integrations/slack"): {"url": "https://hooks.slack.com/services/T/B/X"},
    ("POST", f"{_ORG}/integrations/slack/test"): None,
}


@dataclass
class Tenant:
    org: Organization
    admin: Caller
    ids: dict[str, uuid.UUID]


async def _seed(db: AsyncSession, settings: Settings, name: str) -> Tenant:
    admin = await make_caller(
        db, settings, email=f"admin-{name}-{uuid.uuid4().hex[:6]}@example.com"
    )
    org = await make_org(db, admin.user, name=f"Tenant {name}")
    member = await make_user(db)
    team = Team(organization_id=org.id, name="Team")
    role = CustomRole(organization_id=org.id, name="Auditor", grants=[])
    db.add_all([team, role])
    await db.flush()
    await add_member(db, org, member, role="member", team=team)
    project = Project(
        organization_id=org.id, name="Project", owner_id=admin.user.id, team_id=team.id
    )
    db.add(project)
    await db.flush()
    rows: list[Any] = [
        Document(organization_id=org.id, project_id=project.id, title="Doc", owner_id=member.id),
        AccessPolicy(
            organization_id=org.id,
            name="P",
            resource_type="document",
            action="read",
            effect="allow",
        ),
        Invitation(
            organization_id=org.id,
            email=f"invitee-{name}@example.com",
            role="member",
            token_hash=token_hash(uuid.uuid4().hex),
            invited_by=admin.user.id,
            expires_at=clock.now() + timedelta(days=7),
        ),
        ApiKey(
            organization_id=org.id,
            name="k",
            prefix="keel_test",
            secret_hash=token_hash(uuid.uuid4().hex),
            permissions=["documents:read"],
            created_by=admin.user.id,
        ),
    ]
    db.add_all(rows)
    await db.flush()
    document, policy, invitation, key = rows
    webhook_id, delivery_id = await seed_delivery(db, org.id)
    ids = {
        "webhooks": webhook_id,
        "deliveries": delivery_id,
        "orgs": org.id,
        "members": member.id,
        "teams": team.id,
        "roles": role.id,
        "policies": policy.id,
        "invitations": invitation.id,
        "api-keys": key.id,
        "projects": project.id,
        "documents": document.id,
    }
    return Tenant(org, admin, ids)


def tenant_routes(app: FastAPI) -> list[tuple[str, str]]:
    routes: list[tuple[str, str]] = []
    for path, route in api_routes(app.router.routes):
        # Bearer-token routes only: the pages (/app/{org_id}/...) need a cookie session and a
        # CSRF token; their cross-tenant 404s are tested in tests/web/test_app_pages.py.
        if "{org_id}" in path and path.startswith("/api/"):
            methods = sorted((route.methods or set()) - {"HEAD"})
            routes.extend((method, path) for method in methods)
    return sorted(routes)


def fill(path: str, org_id: uuid.UUID, ids: dict[str, uuid.UUID]) -> str:
    """Each ``{param}`` takes the id of the collection just before it (``{org_id}`` aside)."""
    segments = path.split("/")
    for index, segment in enumerate(segments):
        match = _PARAM.fullmatch(segment)
        if match is None:
            continue
        if match.group(1) == "org_id":
            segments[index] = str(org_id)
            continue
        collection = segments[index - 1]
        if collection not in ids:
            raise AssertionError(
                f"{path}: no tenant object for {{{match.group(1)}}} after {collection!r}"
            )
        segments[index] = str(ids[collection])
    return "/".join(segments)


async def fingerprint(db: AsyncSession, org_id: uuid.UUID) -> str:
    """A hash of every row of ``org_id`` in every tenant table (and the organization itself)."""
    await tenancy.enter_tenant(db, org_id)
    digest = hashlib.sha256()
    for table in metadata.sorted_tables:
        column = table.c.get("organization_id")
        if column is None and table.name != "organizations":
            continue
        where = table.c.id == org_id if column is None else column == org_id
        rows = (await db.execute(select(table).where(where).order_by(table.c.id))).all()
        digest.update(json.dumps([list(map(str, row)) for row in rows]).encode())
    return digest.hexdigest()


async def test_cross_tenant__every_route_and_verb__404_and_nothing_changed(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given tenants A (with one object of every kind) and B
    a = await _seed(db, settings, "a")
    b = await _seed(db, settings, "b")
    routes = tenant_routes(app)
    assert len(routes) >= 35, routes  # a broken route walk must not pass vacuously
    missing = [
        f"{m} {p}" for m, p in routes if m in ("POST", "PATCH", "PUT") and (m, p) not in BODIES
    ]
    assert not missing, f"add a sample body to BODIES for: {missing}"
    before = await fingerprint(db, a.org.id)
    failures = []
    # When B's admin calls every tenant route with A's ids
    for method, path in routes:
        attacks = [fill(path, a.org.id, a.ids)]
        if _PARAM.findall(path) != ["org_id"]:
            attacks.append(fill(path, b.org.id, a.ids))
        for url in attacks:
            response = await client.request(
                method, url, json=BODIES.get((method, path)), headers=b.admin.headers
            )
            # Then every answer is 404 not_found
            if response.status_code != 404 or response.json().get("code") != "not_found":
                failures.append(
                    f"{method} {url} ({path}) -> {response.status_code} {response.text[:120]}"
                )
    assert not failures, "\n".join(failures)
    # And nothing of tenant A changed
    assert await fingerprint(db, a.org.id) == before


@pytest.mark.parametrize("collection", ["projects", "documents", "members", "teams"])
def test_fill__collection_param__takes_that_tenants_object(collection: str) -> None:
    ids = {c: uuid.uuid4() for c in ("orgs", collection)}
    org = uuid.uuid4()
    path = f"/api/v1/orgs/{{org_id}}/{collection}/{{x_id}}"
    assert fill(path, org, ids) == f"/api/v1/orgs/{org}/{collection}/{ids[collection]}"
