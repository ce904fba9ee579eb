"""The auth domain's HTTP surface under ``/api/v1``: one module per concern.

``ROUTERS`` lists the leaf routers; ``keel.api`` mounts each one directly on the app (a nested
router tree is re-walked by FastAPI's matcher on every request)."""

from keel.auth.endpoints import me, mfa, onboarding, registration, sessions, tokens

ROUTERS = (
    registration.router,
    tokens.router,
    sessions.router,
    me.router,
    onboarding.router,
    mfa.router,
)
