"""Every POST under /api/v1 honours ``Idempotency-Key`` (CONTRACT "Idempotency", ADR 0019) or
is listed in :data:`EXEMPT` with the reason; so a new create route cannot forget it. The
guard also comes after the route's authorization, so a refused caller never claims a key."""

from __future__ import annotations

from collections.abc import Hashable

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from keel.access.dependencies import REQUIREMENTS
from keel.auth.dependencies import CurrentActor, Idempotent
from keel.kit import idempotency
from keel.kit.routing import api_router
from tests.architecture.test_route_guards import dependency_calls
from tests.architecture.test_routes import API_PREFIX, api_routes

#: POST routes that do not take ``Idempotency-Key``, each with why: they create nothing a
#: client would name, or a repeat is already harmless, or a single-use credential in the body
#: already refuses a second effect.
EXEMPT: dict[str, str] = {
    "POST /api/v1/auth/register": "sign-up: no caller yet to scope a key to; a repeat is 409 "
    "email_taken, never a second account",
    "POST /api/v1/auth/login": "login: exchanges credentials for tokens",
    "POST /api/v1/auth/mfa/verify": "login step: the mfa_token is the credential",
    "POST /api/v1/auth/refresh": "refresh: rotation is its own replay guard (a reused token "
    "revokes the family)",
    "POST /api/v1/auth/logout": "ending a session twice is ending it once",
    "POST /api/v1/auth/unlock": "verify-style: the emailed token is single-use",
    "POST /api/v1/auth/verify-email": "verify-style: the emailed token is single-use",
    "POST /api/v1/auth/verify-email/resend": "asks for another email, which is what a repeat "
    "means; rate-limited",
    "POST /api/v1/auth/email/confirm": "verify-style: the emailed token is single-use",
    "POST /api/v1/auth/password/forgot": "asks for a reset link; same answer for any address",
    "POST /api/v1/auth/password/reset": "verify-style: the reset token is single-use",
    "POST /api/v1/me/password": "an action, not a create: the current password is checked "
    "each time",
    "POST /api/v1/me/email": "asks for a confirmation link to the new address",
    "POST /api/v1/me/sessions/revoke-others": "revoking the other sessions twice is once",
    "POST /api/v1/me/mfa/totp": "restarts enrollment: a repeat replaces the pending secret",
    "POST /api/v1/me/mfa/totp/confirm": "verify-style: confirms with a one-time code",
    "POST /api/v1/me/mfa/recovery-codes": "regenerates: a repeat replaces the codes on purpose",
    "POST /api/v1/me/notifications/read-all": "mark-read: repeating changes nothing",
    "POST /api/v1/me/notifications/{notification_id}/read": "mark-read: repeating changes nothing",
    "POST /api/v1/notifications/unsubscribe": "one-click unsubscribe: repeating changes nothing",
    "POST /api/v1/admin/flags/{key}/toggle": "sets an explicit state; the same state again "
    "changes nothing and records nothing",
    "POST /api/v1/invitations/accept": "verify-style: the invitation token is single-use",
    "POST /api/v1/orgs/{org_id}/invitations/{invitation_id}/resend": "sends the invitation "
    "again, which is what a repeat asks for",
    "POST /api/v1/orgs/{org_id}/access/explain": "read-only: computes an access decision",
    "POST /api/v1/orgs/{org_id}/webhooks/{webhook_id}/rotate-secret": "rotation: a repeat "
    "issues another secret, and the one whose answer was lost is never used",
    "POST /api/v1/orgs/{org_id}/webhooks/{webhook_id}/test": "reports the receiver's answer "
    "now; a replay would report a stale one",
    "POST /api/v1/orgs/{org_id}/integrations/slack/test": "reports Slack's answer now; a "
    "replay would report a stale one",
}


def post_routes(app: FastAPI) -> dict[str, APIRoute]:
    return {
        f"POST {path}": route
        for path, route in api_routes(app.router.routes)
        if path.startswith(API_PREFIX) and "POST" in (route.methods or ())
    }


def _requires(dependant: Dependant) -> bool:
    calls = [dependant.call, *dependency_calls(dependant)]
    return any(isinstance(call, Hashable) and call in REQUIREMENTS for call in calls)


def guard_before_authorization(route: APIRoute) -> bool:
    """True when a dependency that authorizes comes after the guard at the top level."""
    subs = route.dependant.dependencies
    at = next(
        i for i, sub in enumerate(subs) if idempotency.declared(Dependant(dependencies=[sub]))
    )
    return any(_requires(sub) for sub in subs[at + 1 :])


def test_post_routes__each__idempotent_or_exempt_with_reason(app: FastAPI) -> None:
    # Given every POST route of the API as served
    routes = post_routes(app)
    # Then each declares the Idempotency-Key guard or is exempt with a reason
    missing = sorted(
        key
        for key, route in routes.items()
        if not idempotency.declared(route.dependant) and key not in EXEMPT
    )
    assert not missing, (
        f"{missing} take no Idempotency-Key: add `idempotency: Idempotent` "
        "(keel.auth.dependencies) after the route's authorization dependency, or list the "
        "route in EXEMPT with why a repeat is harmless."
    )


def test_exempt_list__each_entry__an_existing_route_without_the_guard(app: FastAPI) -> None:
    routes = post_routes(app)
    stale = sorted(key for key in EXEMPT if key not in routes)
    guarded = sorted(
        key for key in EXEMPT if key in routes and idempotency.declared(routes[key].dependant)
    )
    assert not stale, f"{stale} are exempt but no such POST route exists; remove them."
    assert not guarded, f"{guarded} are exempt but declare the guard; remove them from EXEMPT."
    assert all(reason.strip() for reason in EXEMPT.values())


def test_guarded_routes__guard_after_authorization(app: FastAPI) -> None:
    # Given the routes that declare the guard
    guarded = {k: r for k, r in post_routes(app).items() if idempotency.declared(r.dependant)}
    assert len(guarded) >= 10, "the create routes are not found: the walk is broken"
    # Then none authorizes after the guard (a refused caller must not claim a key)
    early = sorted(key for key, route in guarded.items() if guard_before_authorization(route))
    assert not early, f"{early} declare Idempotent before their authorization; move it last."


def test_checks__probe_routes__reported() -> None:
    # Given a create without the guard and one whose guard comes before its authorization
    router = api_router()

    @router.post("/forgot")
    async def forgot() -> None:
        return None

    @router.post("/early")
    async def early(guard: Idempotent, actor: CurrentActor) -> None:
        return None

    app = FastAPI()
    app.include_router(router, prefix="/api/v1")
    routes = post_routes(app)
    # Then the first lacks the guard and the second is flagged for its order
    assert not idempotency.declared(routes["POST /api/v1/forgot"].dependant)
    assert guard_before_authorization(routes["POST /api/v1/early"])
