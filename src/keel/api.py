"""Mounts every domain's ``endpoints.router`` under ``/api/v1``."""

from fastapi import APIRouter

from keel.auth import endpoints as auth_endpoints
from keel.organizations import endpoints as organizations_endpoints
from keel.projects import endpoints as projects_endpoints

router = APIRouter()
router.include_router(auth_endpoints.router)
router.include_router(organizations_endpoints.router)
router.include_router(projects_endpoints.router)
