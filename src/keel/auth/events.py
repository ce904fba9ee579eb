"""Events the auth domain publishes.

``security.alert`` — something a user or an operator should look at: a refresh token
replayed (stolen token, the session was ended), an account locked after repeated failures.
``kind`` says which; the other fields say whose and from where.

``api_key.created`` / ``api_key.revoked`` — an organization's API key was issued or revoked
(ids and permission names only, never the secret or its hash).
"""

from __future__ import annotations

import uuid
from typing import Literal

from keel.events.schemas import Event

AlertKind = Literal["refresh_token_reused", "account_locked"]


class SecurityAlert(Event):
    """Something a user or an operator should look at: a refresh token replayed
    (``refresh_token_reused``: a stolen token; the session was ended) or an account locked
    after repeated failures (``account_locked``)."""

    name = "security.alert"
    example = {
        "kind": "refresh_token_reused",
        "user_id": "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b",
        "session_id": "0193a1c7-9999-7eee-8fff-0c1d2e3f4a5b",
        "ip": "203.0.113.7",
    }

    kind: AlertKind
    user_id: uuid.UUID
    session_id: uuid.UUID | None = None
    ip: str | None = None


class ApiKeyCreated(Event):
    """An organization's API key was issued (ids and permission names, never the secret)."""

    name = "api_key.created"
    example = {
        "api_key_id": "0193a1c6-8888-7ccc-8ddd-0c1d2e3f4a5b",
        "created_by": "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b",
        "permissions": ["projects:read", "documents:read"],
    }

    api_key_id: uuid.UUID
    created_by: uuid.UUID
    permissions: list[str]


class ApiKeyRevoked(Event):
    """An organization's API key was revoked; ``revoked_by`` is None when Keel did it."""

    name = "api_key.revoked"
    example = {
        "api_key_id": "0193a1c6-8888-7ccc-8ddd-0c1d2e3f4a5b",
        "revoked_by": "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b",
    }

    api_key_id: uuid.UUID
    revoked_by: uuid.UUID | None = None
