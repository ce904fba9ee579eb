"""What notifications takes and gives: the ``notifications.send_email`` job payload (only
JSON survives between the request that asks for a message and the worker that sends it), the
in-app inbox, and email preferences."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from keel.kit.schemas import Input

#: Non-essential email categories (:data:`keel.notifications.rules.CATEGORIES`).
Category = Literal["onboarding", "product", "usage"]


class SendEmailPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    to: str
    template: str
    context: dict[str, Any] = Field(default_factory=dict)
    reply_to: str | None = None
    #: None: essential mail (always sent). Otherwise the preference the recipient may turn off.
    category: str | None = None
    user_id: uuid.UUID | None = None


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    title: str
    body: str
    link: str | None
    organization_id: uuid.UUID | None
    data: dict[str, Any]
    read_at: datetime | None
    created_at: datetime


class NotificationPage(BaseModel):
    """A page of the inbox (CONTRACT.md pagination) with the unread count beside it."""

    items: list[NotificationRead]
    next_cursor: str | None
    unread_count: int


class UnreadCount(BaseModel):
    unread_count: int


class CategoryPreference(BaseModel):
    category: Category
    description: str
    subscribed: bool


class PreferencesRead(BaseModel):
    """Essential mail (security, account, invitations) is always sent and not listed."""

    categories: list[CategoryPreference]


class PreferencesWrite(Input):
    """``{"subscribed": {"usage": false}}``: the categories named change, the others stay."""

    subscribed: dict[Category, bool] = Field(min_length=1)


class UnsubscribeResult(BaseModel):
    category: Category
    subscribed: Literal[False] = False
