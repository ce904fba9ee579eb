"""The auth domain's HTTP surface under ``/api/v1``: one module per concern, mounted here."""

from keel.auth.endpoints import me, mfa, registration, sessions, tokens
from keel.kit.routing import api_router

router = api_router()
router.include_router(registration.router)
router.include_router(tokens.router)
router.include_router(sessions.router)
router.include_router(me.router)
router.include_router(mfa.router)
