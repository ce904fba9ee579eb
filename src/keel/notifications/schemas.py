"""The ``notifications.send_email`` job payload: what survives between the request that asks
for a message and the worker that sends it, so it holds only JSON."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SendEmailPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    to: str
    template: str
    context: dict[str, Any] = Field(default_factory=dict)
    reply_to: str | None = None
    #: None: essential mail (always sent). Otherwise the preference the recipient may turn off.
    category: str | None = None
    user_id: uuid.UUID | None = None
