"""The workspace: projects and their documents (``/app/{org_id}/projects/...``), the feature
tour, and the onboarding checklist's buttons (``/app/onboarding/...``).

Each route mirrors the API route of the same action (``/api/v1/orgs/{org_id}/projects...``,
``PATCH /api/v1/me/onboarding``): the same permission in the signature, the same service
call. Another tenant's organization, project or document is the 404 page; a refusal of the
plan (the free plan's project limit) is the 402 page with the upgrade prompt, which app.js
opens over the page when the form was sent by htmx.
"""

from __future__ import annotations

from fastapi import APIRouter

from keel.web.pages.workspace import documents, onboarding, projects

#: Included one by one into the app (``keel.web.pages.install``), not nested.
ROUTERS: tuple[APIRouter, ...] = (projects.router, documents.router, onboarding.router)

__all__ = ["ROUTERS"]
