"""The event catalog: every event Keel publishes has a docstring and an example payload that
validates against its class, names follow ``<entity>.<past verb>``, and ``docs/events.md`` is
generated from the classes. Regenerate the document with::

    uv run python -m tests.events.test_catalog
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path
from typing import Any

import pytest

import keel
from keel.events import service as events_service
from keel.events.schemas import EVENT_TYPES, Event, EventEnvelope, EventType
from keel.subscriptions import SUBSCRIPTIONS

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"
NAME = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_]*$")
#: The events CONTRACT.md names: integrators rely on each of them existing.
CONTRACT_EVENTS = (
    "user.created",
    "user.updated",
    "organization.created",
    "member.invited",
    "member.joined",
    "member.removed",
    "payment.processed",
    "subscription.changed",
    "feature.enabled",
    "feature.disabled",
    "error.detected",
    "security.alert",
)


def import_every_events_module() -> None:
    """Event classes register on import; load every ``keel.<domain>.events``."""
    for module in pkgutil.iter_modules(keel.__path__):
        if module.ispkg:
            try:
                importlib.import_module(f"keel.{module.name}.events")
            except ModuleNotFoundError as exc:
                if exc.name != f"keel.{module.name}.events":
                    raise


def keel_catalog() -> list[EventType]:
    """Keel's own events (tests define throwaway ones, which are not part of the catalog)."""
    import_every_events_module()
    return [
        entry
        for entry in events_service.catalog()
        if EVENT_TYPES[entry.name].__module__.startswith("keel.")
    ]


# ---- the generated document ---------------------------------------------------------------

HEADER = """# Events

<!-- Generated from the event classes by `uv run python -m tests.events.test_catalog`;
a test fails when this file is out of date. Edit the classes, not this file. -->

Keel publishes an event for every change that matters to someone else: an outbox row written
in the same transaction as the change, so a rolled-back change publishes nothing and a
committed one is delivered at least once. Subscribers inside Keel are listed in
`src/keel/subscriptions.py`; outside Keel, organizations receive their events as signed
webhooks, and `GET /api/v1/webhooks/event-types` answers this catalog as JSON.

## The envelope

Every event, delivered to a handler or a webhook, is this envelope around its payload:

| field | type | meaning |
|---|---|---|
| `id` | string (uuid) | unique per event; handlers and webhook consumers must be idempotent on it |
| `name` | string | `<entity>.<past verb>`, one of the names below |
| `version` | integer | the payload's version; a change that could break a consumer bumps it |
| `organization_id` | string (uuid) or null | the tenant it belongs to; null for platform events |
| `occurred_at` | string (date-time) | when the change committed, UTC |
| `payload` | object | the event's fields, as documented below |

```json
{example_envelope}
```

Payloads carry ids and the names of changed fields, never secrets, tokens or document
content: a consumer that needs more reads it through the API with its own rights.
Events listed as published by `plans` but emitted by billing (`payment.processed`) are declared
in the plans domain because billing sits above it; their payload is the contract.

## Catalog

| event | version | published by |
|---|---|---|
{index}
"""


def envelope_example() -> str:
    entry = next(e for e in keel_catalog() if e.name == "user.created")
    return json.dumps(
        {
            "id": "0193a1d2-dddd-7aaa-8bbb-0c1d2e3f4a5b",
            "name": entry.name,
            "version": entry.version,
            "organization_id": None,
            "occurred_at": "2026-11-25T09:30:00Z",
            "payload": entry.example,
        },
        indent=2,
    )


def field_type(schema: dict[str, Any]) -> str:
    if "anyOf" in schema:
        return " or ".join(field_type(option) for option in schema["anyOf"])
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(value)}`" for value in schema["enum"])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    kind = str(schema.get("type", "any"))
    if kind == "array":
        return f"array of {field_type(schema.get('items', {}))}"
    return f"{kind} ({schema['format']})" if "format" in schema else kind


def fields_table(entry: EventType) -> list[str]:
    properties: dict[str, dict[str, Any]] = entry.payload_schema.get("properties", {})
    required = set(entry.payload_schema.get("required", []))
    lines = ["| field | type | required |", "|---|---|---|"]
    lines += [
        f"| `{name}` | {field_type(prop)} | {'yes' if name in required else 'no'} |"
        for name, prop in properties.items()
    ]
    return lines


def event_section(entry: EventType) -> str:
    lines = [
        f"### `{entry.name}`",
        "",
        f"Version {entry.version}, published by `{entry.publisher}`.",
        "",
        entry.description,
        "",
        *fields_table(entry),
        "",
        "```json",
        json.dumps(entry.example, indent=2),
        "```",
    ]
    return "\n".join(lines)


def render() -> str:
    entries = keel_catalog()
    index = "\n".join(
        f"| [`{e.name}`](#{e.name.replace('.', '')}) | {e.version} | {e.publisher} |"
        for e in entries
    )
    head = HEADER.format(example_envelope=envelope_example(), index=index)
    return head + "\n" + "\n\n".join(event_section(e) for e in entries) + "\n"


# ---- tests ----------------------------------------------------------------------------------


def test_catalog__contract_events__all_present() -> None:
    # Given every domain's events module loaded
    names = {entry.name for entry in keel_catalog()}
    # Then each event the contract promises is in the catalog
    assert set(CONTRACT_EVENTS) <= names


@pytest.mark.parametrize("entry", keel_catalog(), ids=lambda e: e.name)
def test_event__documented__has_docstring_example_and_version(entry: EventType) -> None:
    # Given an event class of Keel's; Then it explains itself and shows a payload
    assert entry.description, f"{entry.name} needs a docstring saying when it is published"
    assert entry.example, f"{entry.name} needs an example payload"
    assert entry.version >= 1


@pytest.mark.parametrize("entry", keel_catalog(), ids=lambda e: e.name)
def test_event_example__validated_by_its_class__round_trips_unchanged(entry: EventType) -> None:
    # Given the example payload of an event
    cls: type[Event] = EVENT_TYPES[entry.name]
    # When the class validates it, as a handler's envelope.typed() would
    event = cls.model_validate(entry.example)
    # Then it is accepted, complete (every field given) and published exactly as written
    assert event.payload() == entry.example
    assert set(entry.example) == set(cls.model_fields) - {"organization_id"}


@pytest.mark.parametrize("entry", keel_catalog(), ids=lambda e: e.name)
def test_event_name__entity_dot_past_verb__no_wildcard(entry: EventType) -> None:
    # Then a webhook subscription to "project.*" can only mean the project events
    assert NAME.match(entry.name), entry.name
    assert "organization_id" not in entry.payload_schema.get("properties", {})


def test_wildcard__subscriptions_keep_it__never_an_event_name() -> None:
    # Given the catalog and the subscriptions map
    import_every_events_module()
    # Then "*" (every event, for webhooks) stays a subscription key and never names an event
    assert "*" in SUBSCRIPTIONS
    assert not any("*" in name for name in EVENT_TYPES)
    assert set(SUBSCRIPTIONS) - {"*"} <= set(EVENT_TYPES)


def test_envelope__example_event__typed_back_to_its_class() -> None:
    # Given the envelope the document shows
    envelope = EventEnvelope.model_validate_json(envelope_example())
    # When a handler turns it into its typed event; Then the class and fields come back
    event = envelope.typed()
    assert event.name == "user.created"
    assert event.payload() == envelope.payload


def test_docs_events_md__generated_from_classes__up_to_date() -> None:
    # Given the classes as they are; Then docs/events.md is what they generate
    assert DOC.exists(), "docs/events.md is missing: uv run python -m tests.events.test_catalog"
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/events.md is out of date: uv run python -m tests.events.test_catalog"
    )


if __name__ == "__main__":
    DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC}")
