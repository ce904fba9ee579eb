"""Mounts every domain's ``endpoints.router`` under ``/api/v1``."""

from fastapi import APIRouter

from keel.auth import endpoints as auth_endpoints

router = APIRouter()
router.include_router(auth_endpoints.router)
