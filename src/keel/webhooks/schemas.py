"""The webhooks domain's API shapes. A secret appears in exactly two answers: creating an
endpoint and rotating its secret (``WebhookSecretRead``); every other read leaves it out."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from keel.kit.schemas import Input

Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
EventName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


EventTypes = Annotated[list[EventName], Field(max_length=200), AfterValidator(_unique)]
DeliveryStatus = Literal["pending", "succeeded", "failed"]


class WebhookCreate(Input):
    url: Url
    event_types: EventTypes = Field(
        default_factory=list, description="Event names to receive; empty: every event."
    )
    description: Description | None = None
    enabled: bool = True


class WebhookUpdate(Input):
    """Absent fields stay as they are; only ``description`` may be ``null``."""

    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = None

    @model_validator(mode="after")
    def _no_null_for_required(self) -> WebhookUpdate:
        for field in self.model_fields_set - {"description"}:
            if getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null; leave it out to keep the current value")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class WebhookRead(BaseModel):
    id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookSecretRead(WebhookRead):
    """Shown once: store ``secret`` now, Keel will not show it again."""

    secret: str


class SecretRotated(BaseModel):
    secret: str
    previous_expires_at: datetime


class AttemptResult(BaseModel):
    delivery_id: uuid.UUID
    webhook_id: str
    succeeded: bool
    response_status: int | None
    latency_ms: int
    error: str | None


class DeliveryRead(BaseModel):
    id: uuid.UUID
    webhook_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_response_status: int | None
    created_at: datetime
    delivered_at: datetime | None


class AttemptRead(BaseModel):
    id: uuid.UUID
    number: int
    started_at: datetime
    succeeded: bool
    response_status: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None


class DeliveryFilters(BaseModel):
    status: DeliveryStatus | None = None
    event_type: str | None = None


class SlackWrite(Input):
    url: Url
    event_types: EventTypes = Field(
        default_factory=list, description="Event names to post; empty: every event."
    )
    enabled: bool = True


class SlackRead(BaseModel):
    """The URL is a credential (anyone holding it can post): only its host is shown."""

    id: uuid.UUID
    url_host: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    updated_at: datetime
