"""Every mutation is audited (issue 6): the route table of the application is walked, and each
mutating API route (POST, PUT, PATCH, DELETE under /api/) is called once, successfully, with a
request built by its row in :data:`ROUTES`; the call must leave at least one new audit entry.

A mutating route with no row fails :func:`test_route_table__every_mutating_route__has_a_row`
until one is added: a ``@row("METHOD /path")`` function below that builds a valid request
(setup through builders, then the URL, body and headers) — or, for the admin calling routes
on an object set up alike, a line in an :func:`admin_rows` table — or an entry in
:data:`EXEMPT` with the reason the route changes nothing worth a trace.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit.models import AuditLog
from keel.auth.models import ApiKey, AuthSession
from keel.auth.service import action_tokens, mfa
from keel.config import Settings
from keel.kit import clock, security, tenancy
from keel.kit.security import KeyRing
from keel.notifications import rules as notifications_rules
from keel.notifications import service as notifications_service
from keel.organizations.models import AccessPolicy, CustomRole, Invitation, Organization, Team
from keel.projects.models import Document, Project
from keel.users.models import User
from keel.webhooks.models import WebhookEndpoint
from tests.architecture.test_routes import api_routes
from tests.helpers.tenancy import (
    PASSWORD,
    Caller,
    add_member,
    caller_for,
    make_caller,
    make_org,
    make_platform_owner,
    make_user,
)
from tests.webhooks.builders import seed_delivery

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

#: Mutating routes that leave no audit entry, each with why.
EXEMPT: dict[str, str] = {
    "POST /api/v1/orgs/{org_id}/access/explain": "a read: evaluates the policies, changes nothing",
    "POST /api/v1/auth/refresh": "routine rotation every few minutes; the session was audited "
    "when it started (session.started) and a replayed token is (session.refresh_reused)",
    "POST /api/v1/me/notifications/{notification_id}/read": "the user's own inbox state: "
    "touches no one else's data and grants nothing",
    "POST /api/v1/me/notifications/read-all": "the user's own inbox state (as above)",
    "POST /api/v1/orgs/{org_id}/webhooks/{webhook_id}/test": "audited (webhook_endpoint.tested, "
    "tests/webhooks/test_endpoints.py), but the call needs a receiver this matrix lacks",
    "POST /api/v1/orgs/{org_id}/integrations/slack/test": "audited (slack_integration.tested), "
    "but the call needs a receiver this matrix lacks",
}


@dataclass
class World:
    """What every row starts from: an admin of an enterprise organization (no plan gate in the
    way) and a plain member of it."""

    db: AsyncSession
    settings: Settings
    client: httpx.AsyncClient
    admin: Caller
    org: Organization
    member: Caller
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def orgs(self) -> str:
        return f"/api/v1/orgs/{self.org.id}"

    async def tenant(self) -> None:
        await tenancy.enter_tenant(self.db, self.org.id)

    async def add(self, *rows: Any) -> None:
        await self.tenant()
        self.db.add_all(rows)
        await self.db.flush()


@dataclass
class Call:
    url: str
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Row = Callable[[World], Awaitable[Call]]
ROUTES: dict[str, Row] = {}


def row(key: str) -> Callable[[Row], Row]:
    def register(make: Row) -> Row:
        assert key not in ROUTES, f"two rows for {key}"
        ROUTES[key] = make
        return make

    return register


Ids = Callable[[World], Awaitable[dict[str, Any]]]


def admin_rows(ids: Ids, bodies: dict[str, Any]) -> None:
    """A row per key of ``bodies`` for routes on what ``ids`` sets up: the admin calls the
    key's path, its placeholders filled with ``org_id`` and those ids, with the key's body."""
    for key, body in bodies.items():
        row(key)(_admin_row(key, ids, body))


def _admin_row(key: str, ids: Ids, body: Any) -> Row:
    async def make(w: World) -> Call:
        path = key.split(" ", 1)[1].format(org_id=w.org.id, **await ids(w))
        return Call(path, body, w.admin.headers)

    return make


def mutating_routes(app: FastAPI) -> set[str]:
    return {
        f"{method} {path}"
        for path, route in api_routes(app.router.routes)
        if path.startswith("/api/")
        for method in (route.methods or set()) & MUTATING
    }


# --- auth ----------------------------------------------------------------------------------------


async def _token(w: World, user: User, purpose: str, **data: Any) -> str:
    return await action_tokens.issue(w.db, user.id, purpose, timedelta(hours=1), data=data)


async def _with_mfa(w: World) -> tuple[Caller, list[str]]:
    """A user with TOTP on, and their recovery codes (each valid once, unlike a TOTP step)."""
    user = await make_user(w.db)
    keyring = KeyRing.from_settings(w.settings)
    enrollment = await mfa.start_enrollment(w.db, Actor.system(), user, keyring=keyring)
    code = pyotp.TOTP(enrollment.secret).at(clock.now() - timedelta(seconds=30))
    codes = await mfa.confirm_enrollment(w.db, Actor.system(), user, code=code, keyring=keyring)
    return await caller_for(w.db, w.settings, user), list(codes)


@row("POST /api/v1/auth/register")
async def _register(w: World) -> Call:
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    return Call("/api/v1/auth/register", {"email": email, "password": PASSWORD, "name": "New"})


@row("POST /api/v1/auth/verify-email")
async def _verify_email(w: World) -> Call:
    user = await make_user(w.db, verified=False)
    return Call("/api/v1/auth/verify-email", {"token": await _token(w, user, "verify_email")})


@row("POST /api/v1/auth/verify-email/resend")
async def _resend(w: World) -> Call:
    user = await make_user(w.db, verified=False)
    return Call("/api/v1/auth/verify-email/resend", {"email": user.email})


@row("POST /api/v1/auth/password/forgot")
async def _forgot(w: World) -> Call:
    return Call("/api/v1/auth/password/forgot", {"email": w.member.user.email})


@row("POST /api/v1/auth/password/reset")
async def _reset(w: World) -> Call:
    token = await _token(w, w.member.user, "reset_password")
    return Call("/api/v1/auth/password/reset", {"token": token, "password": PASSWORD + " 2"})


@row("POST /api/v1/auth/email/confirm")
async def _confirm_email(w: World) -> Call:
    new = f"moved-{uuid.uuid4().hex[:8]}@example.com"
    token = await _token(w, w.member.user, "change_email", new_email=new)
    return Call("/api/v1/auth/email/confirm", {"token": token})


@row("POST /api/v1/auth/login")
async def _login(w: World) -> Call:
    return Call("/api/v1/auth/login", {"email": w.member.user.email, "password": PASSWORD})


@row("POST /api/v1/auth/unlock")
async def _unlock(w: World) -> Call:
    return Call("/api/v1/auth/unlock", {"token": await _token(w, w.member.user, "unlock")})


@row("POST /api/v1/auth/logout")
async def _logout(w: World) -> Call:
    return Call("/api/v1/auth/logout", None, w.member.headers)


@row("POST /api/v1/auth/mfa/verify")
async def _mfa_verify(w: World) -> Call:
    caller, codes = await _with_mfa(w)
    login = {"email": caller.user.email, "password": PASSWORD}
    challenge = (await w.client.post("/api/v1/auth/login", json=login)).json()
    return Call("/api/v1/auth/mfa/verify", {"mfa_token": challenge["mfa_token"], "code": codes[0]})


@row("DELETE /api/v1/me/sessions/{session_id}")
async def _revoke_session(w: World) -> Call:
    other = AuthSession(user_id=w.member.user.id, expires_at=clock.now() + timedelta(days=1))
    w.db.add(other)
    await w.db.flush()
    return Call(f"/api/v1/me/sessions/{other.id}", None, w.member.headers)


@row("POST /api/v1/me/sessions/revoke-others")
async def _revoke_others(w: World) -> Call:
    w.db.add(AuthSession(user_id=w.member.user.id, expires_at=clock.now() + timedelta(days=1)))
    await w.db.flush()
    return Call("/api/v1/me/sessions/revoke-others", None, w.member.headers)


@row("PATCH /api/v1/me")
async def _update_me(w: World) -> Call:
    return Call("/api/v1/me", {"name": "Renamed"}, w.member.headers)


@row("PATCH /api/v1/me/onboarding")
async def _update_onboarding(w: World) -> Call:
    return Call("/api/v1/me/onboarding", {"step": "feature_tour"}, w.member.headers)


@row("POST /api/v1/me/password")
async def _change_password(w: World) -> Call:
    body = {"current_password": PASSWORD, "new_password": PASSWORD + " 2"}
    return Call("/api/v1/me/password", body, w.member.headers)


@row("POST /api/v1/me/email")
async def _request_email_change(w: World) -> Call:
    body = {"password": PASSWORD, "new_email": f"next-{uuid.uuid4().hex[:8]}@example.com"}
    return Call("/api/v1/me/email", body, w.member.headers)


@row("DELETE /api/v1/me")
async def _delete_me(w: World) -> Call:
    return Call("/api/v1/me", {"password": PASSWORD}, w.member.headers)


@row("PUT /api/v1/me/notification-preferences")
async def _email_preferences(w: World) -> Call:
    body = {"subscribed": {"product": False}}
    return Call("/api/v1/me/notification-preferences", body, w.member.headers)


@row("POST /api/v1/notifications/unsubscribe")
async def _unsubscribe(w: World) -> Call:
    key = notifications_service.unsubscribe_key(w.settings)
    token = notifications_rules.unsubscribe_token(w.member.user.id, "usage", key=key)
    return Call(f"/api/v1/notifications/unsubscribe?token={token}")


@row("POST /api/v1/me/mfa/totp")
async def _start_totp(w: World) -> Call:
    return Call("/api/v1/me/mfa/totp", None, w.member.headers)


@row("POST /api/v1/me/mfa/totp/confirm")
async def _confirm_totp(w: World) -> Call:
    keyring = KeyRing.from_settings(w.settings)
    enrollment = await mfa.start_enrollment(w.db, Actor.system(), w.member.user, keyring=keyring)
    code = pyotp.TOTP(enrollment.secret).now()
    return Call("/api/v1/me/mfa/totp/confirm", {"code": code}, w.member.headers)


@row("DELETE /api/v1/me/mfa/totp")
async def _disable_totp(w: World) -> Call:
    caller, codes = await _with_mfa(w)
    return Call("/api/v1/me/mfa/totp", {"password": PASSWORD, "code": codes[0]}, caller.headers)


@row("POST /api/v1/me/mfa/recovery-codes")
async def _regenerate_codes(w: World) -> Call:
    caller, codes = await _with_mfa(w)
    return Call("/api/v1/me/mfa/recovery-codes", {"code": codes[0]}, caller.headers)


# --- flags, plans and the platform ----------------------------------------------------------------


async def _owner(w: World) -> Caller:
    if "owner" not in w.extra:
        w.extra["owner"] = await make_platform_owner(w.db, w.settings)
    owner: Caller = w.extra["owner"]
    return owner


async def _flag(w: World, *, versions: int = 1) -> str:
    owner = await _owner(w)
    key = f"walk-{uuid.uuid4().hex[:8]}"
    created = await w.client.post("/api/v1/admin/flags", json={"key": key}, headers=owner.headers)
    assert created.status_code == 201, created.text
    for n in range(versions - 1):
        body = {"description": f"v{n + 2}"}
        await w.client.patch(f"/api/v1/admin/flags/{key}", json=body, headers=owner.headers)
    return key


@row("POST /api/v1/admin/flags")
async def _create_flag(w: World) -> Call:
    owner = await _owner(w)
    return Call("/api/v1/admin/flags", {"key": f"walk-{uuid.uuid4().hex[:8]}"}, owner.headers)


@row("PATCH /api/v1/admin/flags/{key}")
async def _update_flag(w: World) -> Call:
    key = await _flag(w)
    return Call(f"/api/v1/admin/flags/{key}", {"description": "Changed"}, (await _owner(w)).headers)


@row("POST /api/v1/admin/flags/{key}/toggle")
async def _toggle_flag(w: World) -> Call:
    key = await _flag(w)
    return Call(f"/api/v1/admin/flags/{key}/toggle", {"enabled": True}, (await _owner(w)).headers)


@row("DELETE /api/v1/admin/flags/{key}")
async def _delete_flag(w: World) -> Call:
    key = await _flag(w)
    return Call(f"/api/v1/admin/flags/{key}", None, (await _owner(w)).headers)


@row("POST /api/v1/admin/flags/{key}/rollback")
async def _rollback_flag(w: World) -> Call:
    key = await _flag(w, versions=2)
    return Call(f"/api/v1/admin/flags/{key}/rollback", {"version": 1}, (await _owner(w)).headers)


@row("PUT /api/v1/admin/orgs/{org_id}/plan")
async def _change_plan(w: World) -> Call:
    return Call(
        f"/api/v1/admin/orgs/{w.org.id}/plan", {"plan": "professional"}, (await _owner(w)).headers
    )


@row("PATCH /api/v1/admin/plans/{plan_key}")
async def _update_plan(w: World) -> Call:
    return Call(
        "/api/v1/admin/plans/starter", {"description": "Changed"}, (await _owner(w)).headers
    )


@row("PUT /api/v1/admin/orgs/{org_id}/plan-override")
async def _set_override(w: World) -> Call:
    body = {"features": {"max_projects": 500}}
    return Call(f"/api/v1/admin/orgs/{w.org.id}/plan-override", body, (await _owner(w)).headers)


@row("DELETE /api/v1/admin/orgs/{org_id}/plan-override")
async def _clear_override(w: World) -> Call:
    owner = await _owner(w)
    url = f"/api/v1/admin/orgs/{w.org.id}/plan-override"
    body = {"features": {"max_projects": 500}}
    assert (await w.client.put(url, json=body, headers=owner.headers)).status_code == 200
    return Call(url, None, owner.headers)


# --- organizations -------------------------------------------------------------------------------


@row("POST /api/v1/orgs")
async def _create_org(w: World) -> Call:
    return Call("/api/v1/orgs", {"name": "Another"}, w.member.headers)


@row("PATCH /api/v1/orgs/{org_id}")
async def _update_org(w: World) -> Call:
    return Call(w.orgs, {"name": "Renamed"}, w.admin.headers)


@row("DELETE /api/v1/orgs/{org_id}")
async def _delete_org(w: World) -> Call:
    return Call(w.orgs, {"password": PASSWORD}, w.admin.headers)


@row("DELETE /api/v1/orgs/{org_id}/members/me")
async def _leave(w: World) -> Call:
    return Call(f"{w.orgs}/members/me", None, w.member.headers)


@row("PATCH /api/v1/orgs/{org_id}/members/{user_id}")
async def _update_member(w: World) -> Call:
    return Call(f"{w.orgs}/members/{w.member.user.id}", {"role": "manager"}, w.admin.headers)


@row("DELETE /api/v1/orgs/{org_id}/members/{user_id}")
async def _remove_member(w: World) -> Call:
    return Call(f"{w.orgs}/members/{w.member.user.id}", None, w.admin.headers)


async def _team(w: World) -> dict[str, Any]:
    team = Team(organization_id=w.org.id, name=f"Team {uuid.uuid4().hex[:6]}")
    await w.add(team)
    return {"team_id": team.id}


@row("POST /api/v1/orgs/{org_id}/teams")
async def _create_team(w: World) -> Call:
    return Call(f"{w.orgs}/teams", {"name": "Rockets"}, w.admin.headers)


admin_rows(
    _team,
    {
        "PATCH /api/v1/orgs/{org_id}/teams/{team_id}": {"name": "Renamed"},
        "DELETE /api/v1/orgs/{org_id}/teams/{team_id}": None,
    },
)


async def _invitation(w: World, *, email: str | None = None) -> tuple[Invitation, str]:
    token = security.new_token()
    invitation = Invitation(
        organization_id=w.org.id,
        email=email or f"invitee-{uuid.uuid4().hex[:8]}@example.com",
        role="member",
        token_hash=security.token_hash(token),
        invited_by=w.admin.user.id,
        expires_at=clock.now() + timedelta(days=7),
    )
    await w.add(invitation)
    return invitation, token


@row("POST /api/v1/orgs/{org_id}/invitations")
async def _invite(w: World) -> Call:
    body = {"email": f"invitee-{uuid.uuid4().hex[:8]}@example.com", "role": "member"}
    return Call(f"{w.orgs}/invitations", body, w.admin.headers)


async def _invitation_id(w: World) -> dict[str, Any]:
    invitation, _ = await _invitation(w)
    return {"invitation_id": invitation.id}


admin_rows(
    _invitation_id,
    {
        "POST /api/v1/orgs/{org_id}/invitations/{invitation_id}/resend": None,
        "DELETE /api/v1/orgs/{org_id}/invitations/{invitation_id}": None,
    },
)


@row("POST /api/v1/invitations/accept")
async def _accept_invitation(w: World) -> Call:
    newcomer = await make_caller(w.db, w.settings)
    _, token = await _invitation(w, email=newcomer.user.email)
    return Call("/api/v1/invitations/accept", {"token": token}, newcomer.headers)


_GRANTS = [{"permission": "documents:read", "scope": "organization"}]


async def _role(w: World) -> dict[str, Any]:
    role = CustomRole(organization_id=w.org.id, name=f"Role {uuid.uuid4().hex[:6]}", grants=_GRANTS)
    await w.add(role)
    return {"role_id": role.id}


@row("POST /api/v1/orgs/{org_id}/roles")
async def _create_role(w: World) -> Call:
    return Call(f"{w.orgs}/roles", {"name": "Auditor", "grants": _GRANTS}, w.admin.headers)


admin_rows(
    _role,
    {
        "PATCH /api/v1/orgs/{org_id}/roles/{role_id}": {"name": "Renamed"},
        "DELETE /api/v1/orgs/{org_id}/roles/{role_id}": None,
    },
)


async def _policy(w: World) -> dict[str, Any]:
    policy = AccessPolicy(
        organization_id=w.org.id, name="P", resource_type="documents", action="read", effect="allow"
    )
    await w.add(policy)
    return {"policy_id": policy.id}


@row("POST /api/v1/orgs/{org_id}/access/policies")
async def _create_policy(w: World) -> Call:
    body = {"name": "Open", "resource_type": "documents", "action": "read", "effect": "allow"}
    return Call(f"{w.orgs}/access/policies", body, w.admin.headers)


admin_rows(
    _policy,
    {
        "PATCH /api/v1/orgs/{org_id}/access/policies/{policy_id}": {"enabled": False},
        "DELETE /api/v1/orgs/{org_id}/access/policies/{policy_id}": None,
    },
)


@row("POST /api/v1/orgs/{org_id}/api-keys")
async def _create_key(w: World) -> Call:
    body = {"name": "CI", "permissions": ["documents:read"]}
    return Call(f"{w.orgs}/api-keys", body, w.admin.headers)


@row("DELETE /api/v1/orgs/{org_id}/api-keys/{key_id}")
async def _revoke_key(w: World) -> Call:
    key = ApiKey(
        organization_id=w.org.id,
        name="k",
        prefix="keel_test",
        secret_hash=security.token_hash(uuid.uuid4().hex),
        permissions=["documents:read"],
        created_by=w.admin.user.id,
    )
    await w.add(key)
    return Call(f"{w.orgs}/api-keys/{key.id}", None, w.admin.headers)


# --- projects ----------------------------------------------------------------------------------


async def _project(w: World) -> dict[str, Any]:
    project = Project(organization_id=w.org.id, name="Project", owner_id=w.admin.user.id)
    await w.add(project)
    return {"project_id": project.id}


async def _document(w: World) -> dict[str, Any]:
    ids = await _project(w)
    document = Document(organization_id=w.org.id, title="Doc", owner_id=w.admin.user.id, **ids)
    await w.add(document)
    return ids | {"document_id": document.id}


@row("POST /api/v1/orgs/{org_id}/projects")
async def _create_project(w: World) -> Call:
    return Call(f"{w.orgs}/projects", {"name": "Apollo"}, w.admin.headers)


admin_rows(
    _project,
    {
        "PATCH /api/v1/orgs/{org_id}/projects/{project_id}": {"name": "Renamed"},
        "DELETE /api/v1/orgs/{org_id}/projects/{project_id}": None,
        "POST /api/v1/orgs/{org_id}/projects/{project_id}/documents": {
            "title": "Plan",
            "body": "x",
        },
    },
)
admin_rows(
    _document,
    {
        "PATCH /api/v1/orgs/{org_id}/projects/{project_id}/documents/{document_id}": {
            "title": "Changed"
        },
        "DELETE /api/v1/orgs/{org_id}/projects/{project_id}/documents/{document_id}": None,
    },
)


# --- webhooks ----------------------------------------------------------------------------------

#: A public address that passes the SSRF guard without DNS (the sandbox has none).
_PUBLIC_URL = "https://93.184.215.14/hook"


async def _webhook(w: World) -> dict[str, Any]:
    await w.tenant()
    webhook_id, delivery_id = await seed_delivery(w.db, w.org.id)
    return {"webhook_id": webhook_id, "delivery_id": delivery_id}


@row("POST /api/v1/orgs/{org_id}/webhooks")
async def _create_webhook(w: World) -> Call:
    return Call(f"{w.orgs}/webhooks", {"url": _PUBLIC_URL}, w.admin.headers)


admin_rows(
    _webhook,
    {
        "PATCH /api/v1/orgs/{org_id}/webhooks/{webhook_id}": {"description": "CRM"},
        "DELETE /api/v1/orgs/{org_id}/webhooks/{webhook_id}": None,
        "POST /api/v1/orgs/{org_id}/webhooks/{webhook_id}/rotate-secret": None,
        "POST /api/v1/orgs/{org_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver": None,
    },
)


@row("PUT /api/v1/orgs/{org_id}/integrations/slack")
async def _put_slack(w: World) -> Call:
    return Call(f"{w.orgs}/integrations/slack", {"url": _PUBLIC_URL}, w.admin.headers)


@row("DELETE /api/v1/orgs/{org_id}/integrations/slack")
async def _delete_slack(w: World) -> Call:
    slack = WebhookEndpoint(
        organization_id=w.org.id, kind="slack", url=_PUBLIC_URL, event_types=[], secret=b"x"
    )
    await w.add(slack)
    return Call(f"{w.orgs}/integrations/slack", None, w.admin.headers)


# --- the tests -----------------------------------------------------------------------------------


def test_route_table__every_mutating_route__has_a_row(settings: Settings) -> None:
    # Given the application as served
    from keel.main import create_app

    routes = mutating_routes(create_app(settings, run_worker=False))
    assert len(routes) >= 50, routes  # a broken walk must not pass vacuously
    # Then each mutating route has a row (or a reason to be exempt), and no row is stale
    missing = sorted(routes - ROUTES.keys() - EXEMPT.keys())
    assert not missing, (
        f"{missing} change state but have no row in tests/architecture/test_audit_coverage.py: "
        "add a @row(...) that builds a valid request (and make the service call "
        "audit_service.record), or list the route in EXEMPT with the reason it needs no trace."
    )
    stale = sorted((ROUTES.keys() | EXEMPT.keys()) - routes)
    assert not stale, f"rows for routes that no longer exist: {stale}"


async def _audit_count(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(AuditLog)) or 0)


@pytest.mark.parametrize("key", sorted(ROUTES))
async def test_mutating_route__success__leaves_an_audit_entry(
    key: str, client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an admin of an enterprise organization, a member, and the row's own setup
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user, plan="enterprise")
    member = await make_caller(db, settings)
    await add_member(db, org, member.user, role="member")
    world = World(db, settings, client, admin, org, member)
    call = await ROUTES[key](world)
    before = await _audit_count(db)
    # When the route is called with the row's valid request
    method = key.split(" ", 1)[0]
    response = await client.request(method, call.url, json=call.json, headers=call.headers)
    # Then it succeeds and at least one audit entry was written
    assert response.status_code < 300, f"{key}: {response.status_code} {response.text[:300]}"
    assert await _audit_count(db) > before, f"{key} succeeded without an audit entry"
