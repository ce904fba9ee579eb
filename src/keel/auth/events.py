"""Events the auth domain publishes.

``security.alert`` — something a user or an operator should look at: a refresh token
replayed (stolen token, the session was ended), an account locked after repeated failures.
``kind`` says which; the other fields say whose and from where.
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
