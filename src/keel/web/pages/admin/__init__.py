"""The God dashboard (``/admin``): the platform owner's pages, one module per section.

Every route is guarded by ``WebPlatformOwner``, the web twin of the admin API's
``PlatformOwner``: a superadmin with MFA on, acting as ``staff`` so the audit log says the
platform acted. Anyone else signed in gets the 403 page, as the admin API answers 403; a
superadmin without MFA gets the "turn on two-factor authentication" refusal. Each action calls
the service the admin API calls (flags, plans, an organization's plan) or the platform owner's
service of its domain (suspension, account actions), which audit it and publish its events.

Every page works without JavaScript: forms post and redirect (303); a confirmation opens as a
dialog with JavaScript and as its own page (``.../confirm``) without.
"""

from __future__ import annotations

from fastapi import APIRouter

from keel.web.pages.admin.flags import router as flags_router
from keel.web.pages.admin.organizations import router as organizations_router
from keel.web.pages.admin.overview import router as overview_router
from keel.web.pages.admin.plans import router as plans_router
from keel.web.pages.admin.users import router as users_router

#: Included one by one into the app (``keel.web.pages.install``), not nested.
ROUTERS: tuple[APIRouter, ...] = (
    overview_router,
    organizations_router,
    users_router,
    flags_router,
    plans_router,
)

__all__ = ["ROUTERS"]
