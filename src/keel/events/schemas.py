"""Event types. A domain declares its events in ``<domain>/events.py`` as subclasses of
:class:`Event` with a past-tense ``name`` (``user.created``) and a ``version``; the fields are
the payload. Every subclass is registered in :data:`EVENT_TYPES` by name, so a handler can
turn an :class:`EventEnvelope` back into its typed event.

Each event class is also its own documentation: its docstring says when it is published and
its ``example`` is a payload that validates against it. :class:`EventType` is that catalog
entry, served to integrators (``GET /api/v1/webhooks/event-types``) and written to
``docs/events.md``. A payload change that breaks a consumer bumps ``version``."""

from __future__ import annotations

import inspect
import uuid
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

EVENT_TYPES: dict[str, type[Event]] = {}


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: ClassVar[str]
    version: ClassVar[int] = 1
    #: A payload as published (JSON, ``organization_id`` excluded): the catalog's example.
    example: ClassVar[dict[str, Any]] = {}

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


class EventType(BaseModel):
    """One entry of the event catalog."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: int
    description: str
    #: The domain that publishes it (``users``, ``organizations``, ...).
    publisher: str
    example: dict[str, Any]
    #: The payload's JSON schema (without ``organization_id``, which is on the envelope).
    payload_schema: dict[str, Any]

    @classmethod
    def of(cls, event: type[Event]) -> EventType:
        return cls(
            name=event.name,
            version=event.version,
            description=inspect.cleandoc(event.__dict__.get("__doc__") or ""),
            publisher=event.__module__.split(".")[1],
            example=event.example,
            payload_schema=_payload_schema(event),
        )


def _payload_schema(event: type[Event]) -> dict[str, Any]:
    schema = event.model_json_schema(mode="serialization")
    schema.pop("description", None)  # the docstring, already in ``description``
    schema.get("properties", {}).pop("organization_id", None)
    return schema
