"""Every API route declares who may call it (GUIDE §3 rule 3): it depends on a registered
requirement (``keel.access.dependencies.REQUIREMENTS``) or is listed in :data:`PUBLIC` with a
reason. Tenant routes (``{org_id}``) need more than a login: membership or a permission.
And the tenancy proof, ``AccessibleOrgId``, is minted in one place only (GUIDE §3 rule 2)."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant

from keel.access.dependencies import REQUIREMENTS
from tests.architecture.test_routes import API_PREFIX, api_routes
from tests.conftest import ROOT

#: Routes anyone may call, each with why. Their callers have no session yet, or carry a
#: credential of another kind in the body (an emailed token, a refresh or MFA token).
PUBLIC: dict[str, str] = {
    "POST /api/v1/auth/register": "sign-up: the caller has no account yet",
    "POST /api/v1/auth/login": "exchanges email and password for tokens",
    "POST /api/v1/auth/mfa/verify": "second login step: the mfa_token from login is the proof",
    "POST /api/v1/auth/refresh": "the refresh token in the body is the credential",
    "POST /api/v1/auth/verify-email": "emailed link: its token is the credential",
    "POST /api/v1/auth/verify-email/resend": "asks for a new link; same answer for any address",
    "POST /api/v1/auth/email/confirm": "emailed link confirming a new address: its token",
    "POST /api/v1/auth/password/forgot": "the caller cannot log in; same answer for any address",
    "POST /api/v1/auth/password/reset": "emailed link: the reset token is the credential",
    "POST /api/v1/auth/unlock": "emailed link unlocking a locked account: token in body",
    "GET /api/v1/plans": "the pricing page's catalog: prices and features are public",
    "GET /api/v1/notifications/unsubscribe": "emailed unsubscribe link: its signed token",
    "POST /api/v1/notifications/unsubscribe": "RFC 8058 one-click from a mail client: token",
}

#: Pages (keel.web) anyone may open, each with why. Every other page declares its guard
#: (``WebActor``, ``WebMember``, ``web_requires(...)``). Operational routes are not pages.
PUBLIC_PAGES: dict[str, str] = {
    "GET /": "the landing page with the public pricing",
    "GET /signup": "sign-up form: the visitor has no account yet",
    "POST /signup": "sign-up: no account yet (CSRF token and the per-IP auth budget apply)",
    "GET /login": "login form",
    "POST /login": "exchanges email and password for a session (CSRF, per-IP budget)",
    "GET /login/mfa": "second login step: the pending MFA token in the signed cookie",
    "POST /login/mfa": "second login step: the pending MFA token is the proof (CSRF)",
    "POST /logout": "ends the cookie's session if there is one; harmless without (CSRF)",
    "GET /verify-email": "emailed link: shows a button; nothing happens on GET (link scanners)",
    "POST /verify-email": "emailed link: its token is the credential (CSRF, per-IP budget)",
    "POST /verify-email/resend": "asks for a new link; same page for any address (CSRF, budget)",
    "GET /password/forgot": "the visitor cannot log in: the form asking for a reset link",
    "POST /password/forgot": "same page for any address (CSRF, per-IP budget and throttle)",
    "GET /reset-password": "emailed link: the new-password form around its token",
    "POST /reset-password": "emailed link: the reset token is the credential (CSRF, budget)",
    "GET /unlock": "emailed link: shows a button; nothing happens on GET (link scanners)",
    "POST /unlock": "emailed link: the unlock token is the credential (CSRF, per-IP budget)",
    "GET /invitations/accept": "emailed link: names what it offers; accepting needs a login",
}
NOT_PAGES = ("/api/", "/health", "/ready", "/metrics", "/problems/", "/.well-known/")

#: Requirements that prove nothing about the organization in the path.
LOGIN_ONLY = frozenset({"authenticated"})

#: The only places that may mint the tenancy proof (``AccessibleOrgId`` and the ``OrgAccess``
#: that carries it).
PROOF_MINTERS = ("src/keel/organizations/service/access.py", "src/keel/kit/")
PROOF_MINTED = re.compile(
    r"AccessibleOrgId\s*\(|cast\(\s*[\"']?(AccessibleOrgId|OrgAccess)\b|(?<!class )\bOrgAccess\s*\("
)


def dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from dependency_calls(sub)


def route_requirements(app: FastAPI) -> dict[str, set[str]]:
    """``"METHOD /path"`` -> the requirement names its dependency tree holds."""
    found: dict[str, set[str]] = {}
    for path, route in api_routes(app.router.routes):
        if not path.startswith(API_PREFIX):
            continue
        names = {
            REQUIREMENTS[call]
            for call in dependency_calls(route.dependant)
            if isinstance(call, Hashable) and call in REQUIREMENTS
        }
        for method in sorted(route.methods or ()):
            found[f"{method} {path}"] = names
    return found


def test_api_routes__each__guarded_or_listed_public(app: FastAPI) -> None:
    # Given every API route of the application as served
    routes = route_requirements(app)
    # Then each depends on a requirement, or is public with a reason
    unguarded = sorted(key for key, names in routes.items() if not names and key not in PUBLIC)
    assert not unguarded, (
        f"{unguarded} depend on no requirement: add CurrentActor, OrgMember or a requires(...) "
        "alias to the signature, or list the route in PUBLIC with the reason it is public."
    )


def test_public_list__each_entry__an_existing_unguarded_route(app: FastAPI) -> None:
    routes = route_requirements(app)
    stale = sorted(key for key in PUBLIC if key not in routes)
    guarded = sorted(key for key in PUBLIC if routes.get(key))
    assert not stale, f"{stale} are listed as public but no such route exists; remove them."
    assert not guarded, f"{guarded} are listed as public but guarded; remove them from PUBLIC."
    assert all(reason.strip() for reason in PUBLIC.values())


def test_org_routes__each__requires_membership_or_a_permission(app: FastAPI) -> None:
    # Given every route under an organization of the path
    routes = route_requirements(app)
    tenant = {key: names for key, names in routes.items() if "{org_id}" in key}
    assert tenant, "no {org_id} route found: the walk is broken"
    # Then each needs more than a login: OrgMember or a requires(...) alias
    weak = sorted(key for key, names in tenant.items() if not names - LOGIN_ONLY)
    assert not weak, (
        f"{weak} take an {{org_id}} but require only a login: depend on OrgMember or a "
        "requires(...) alias so the caller's membership is proven (404 for other tenants)."
    )


def page_requirements(app: FastAPI) -> dict[str, set[str]]:
    """``"METHOD /path"`` -> requirement names, for the web pages (every non-API route)."""
    found: dict[str, set[str]] = {}
    for path, route in api_routes(app.router.routes):
        if path.startswith(NOT_PAGES):
            continue
        names = {
            REQUIREMENTS[call]
            for call in dependency_calls(route.dependant)
            if isinstance(call, Hashable) and call in REQUIREMENTS
        }
        for method in sorted(route.methods or ()):
            found[f"{method} {path}"] = names
    return found


def test_pages__each__guarded_or_listed_public(app: FastAPI) -> None:
    # Given every page route of the application
    pages = page_requirements(app)
    assert "GET /app/{org_id}/dashboard" in pages, "no page found: the walk is broken"
    # Then each declares a guard or is public with a reason, and the list is not stale
    unguarded = sorted(key for key, names in pages.items() if not names and key not in PUBLIC_PAGES)
    assert not unguarded, (
        f"{unguarded} depend on no requirement: add WebActor, WebMember or a web_requires(...) "
        "alias to the signature, or list the page in PUBLIC_PAGES with the reason."
    )
    stale = sorted(key for key in PUBLIC_PAGES if key not in pages or pages[key])
    assert not stale, f"{stale} are listed in PUBLIC_PAGES but missing or guarded; remove them."
    weak = sorted(k for k, names in pages.items() if "{org_id}" in k and not names - LOGIN_ONLY)
    assert not weak, f"{weak} take an {{org_id}} but require only a login: use WebMember."


def test_route_requirements__unguarded_probe__reported() -> None:
    # Given an app with one guarded and one unguarded route under /api
    from fastapi import Depends

    from keel.access.dependencies import requirement

    @requirement("probe:read")
    def probe_guard() -> None:
        return None

    app = FastAPI()

    @app.get("/api/v1/guarded", dependencies=[Depends(probe_guard)])
    def guarded() -> None:
        return None

    @app.get("/api/v1/open")
    def open_route() -> None:
        return None

    try:
        # When the requirements are collected
        routes = route_requirements(app)
    finally:
        del REQUIREMENTS[probe_guard]
    # Then the guarded route names its requirement and the other none
    assert routes == {"GET /api/v1/guarded": {"probe:read"}, "GET /api/v1/open": set()}


def test_accessible_org_id__minted_only_by_the_access_service_and_kit() -> None:
    # Given every source file of keel
    source = ROOT / "src" / "keel"
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted(source.rglob("*.py"))
        if not _may_mint(path)
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if PROOF_MINTED.search(line)
    ]
    # Then only organizations/service/access.py and kit/ build the proof
    assert not offenders, (
        f"{offenders} build AccessibleOrgId themselves; get it from "
        "keel.organizations.service.access.open_org so the proof means the actor was checked."
    )


def _may_mint(path: Path) -> bool:
    relative = path.relative_to(ROOT).as_posix()
    return any(relative.startswith(allowed) for allowed in PROOF_MINTERS)
