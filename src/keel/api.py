"""Mounts every domain's ``endpoints.router`` under ``/api/v1``."""

from fastapi import APIRouter

router = APIRouter()
