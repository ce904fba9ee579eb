"""Event types. A domain declares its events in ``<domain>/events.py`` as subclasses of
:class:`Event` with a past-tense ``name`` (``user.created``) and a ``version``; the fields are
the payload. Every subclass is registered in :data:`EVENT_TYPES` by name, so a handler can
turn an :class:`EventEnvelope` back into its typed event."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

EVENT_TYPES: dict[str, type[Event]] = {}


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: ClassVar[str]
    version: ClassVar[int] = 1

    organization_id: uuid.UUID | None = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if name is None:
            return
        existing = EVENT_TYPES.get(name)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise TypeError(f"event name {name!r} is defined twice")
        EVENT_TYPES[name] = cls

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"organization_id"})


class EventEnvelope(BaseModel):
    """What a handler receives: the stored event, with the id it must be idempotent on."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    name: str
    version: int
    organization_id: uuid.UUID | None
    occurred_at: datetime
    payload: dict[str, Any]

    def typed(self) -> Event:
        cls = EVENT_TYPES[self.name]
        return cls.model_validate({**self.payload, "organization_id": self.organization_id})
