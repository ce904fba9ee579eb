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
    name = "security.alert"

    kind: AlertKind
    user_id: uuid.UUID
    session_id: uuid.UUID | None = None
    ip: str | None = None


class ApiKeyCreated(Event):
    name = "api_key.created"

    api_key_id: uuid.UUID
    created_by: uuid.UUID
    permissions: list[str]


class ApiKeyRevoked(Event):
    name = "api_key.revoked"

    api_key_id: uuid.UUID
    revoked_by: uuid.UUID | None = None
