"""Builders for the login, token and session tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.auth.service import tokens
from keel.config import Settings
from keel.users import service as users_service
from keel.users.models import User

PASSWORD = "correct horse battery staple 42"


async def create_user(
    db: AsyncSession, *, email: str = "grace@example.com", name: str = "Grace Hopper"
) -> User:
    user = await users_service.create(db, Actor.system(), email=email, name=name, password=PASSWORD)
    await db.flush()
    return user


async def login(
    client: httpx.AsyncClient,
    *,
    email: str = "grace@example.com",
    password: str = PASSWORD,
    ip: str = "198.51.100.1",
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": password},
        headers={"X-Forwarded-For": ip},
    )


async def logged_in(client: httpx.AsyncClient, **kwargs: Any) -> dict[str, Any]:
    response = await login(client, **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


new_pem = tokens.generate_signing_key


def with_auth(settings: Settings, **changes: Any) -> Settings:
    if "signing_keys" in changes:
        changes["signing_keys"] = [SecretStr(pem) for pem in changes["signing_keys"]]
    return settings.model_copy(update={"auth": settings.auth.model_copy(update=changes)})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segments(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return _unb64(header), _unb64(payload), signature


def _unb64(segment: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return decoded


def forge(header: dict[str, Any], payload: dict[str, Any], *, hmac_key: bytes | None) -> str:
    """A token built by hand: unsigned (``hmac_key`` None) or HS256 with the given key."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    if hmac_key is None:
        return signing_input + "."
    digest = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(digest)}"
