"""Events the webhooks domain publishes. Payloads carry ids and settings' names, never URLs
or secrets (a URL may embed a token, as Slack's do):

===========================  ===================================================================
name                         when
===========================  ===================================================================
webhook_endpoint.created     a webhook endpoint was added
webhook_endpoint.updated     its URL, events, description or enabled flag changed
webhook_endpoint.deleted     it was removed
webhook_endpoint.rotated     its signing secret was rotated
webhook_endpoint.disabled    Keel disabled it: it answered 410, or failed for days
webhook.redelivered          a delivery was queued again by hand
slack_integration.updated    the organization's Slack integration was set or changed
slack_integration.deleted    it was removed
===========================  ===================================================================
"""

from __future__ import annotations

import uuid

from keel.events.schemas import Event

_ENDPOINT = "0193a1c0-5555-7aaa-8bbb-0c1d2e3f4a5b"


class _EndpointEvent(Event):
    endpoint_id: uuid.UUID


class _EndpointFiltered(_EndpointEvent):
    #: The endpoint's event filter (empty: every event).
    event_types: list[str]


class WebhookEndpointCreated(_EndpointFiltered):
    """A webhook endpoint was added to the organization."""

    name = "webhook_endpoint.created"
    example = {"endpoint_id": _ENDPOINT, "event_types": ["project.created"]}


class WebhookEndpointUpdated(_EndpointEvent):
    """A webhook endpoint's settings changed; ``fields`` names which."""

    name = "webhook_endpoint.updated"
    example = {"endpoint_id": _ENDPOINT, "fields": ["url"]}

    fields: list[str]


class WebhookEndpointDeleted(_EndpointEvent):
    """A webhook endpoint was removed, with its delivery log."""

    name = "webhook_endpoint.deleted"
    example = {"endpoint_id": _ENDPOINT}


class WebhookEndpointRotated(_EndpointEvent):
    """A webhook endpoint's signing secret was rotated; the previous one signs too until
    ``previous_expires_at``."""

    name = "webhook_endpoint.rotated"
    example = {"endpoint_id": _ENDPOINT, "previous_expires_at": "2026-11-26T09:20:00Z"}

    previous_expires_at: str


class WebhookEndpointDisabled(_EndpointEvent):
    """Keel disabled an endpoint: ``reason`` is ``gone`` (it answered 410) or ``failing``
    (every attempt failed for days). Admins are emailed."""

    name = "webhook_endpoint.disabled"
    example = {"endpoint_id": _ENDPOINT, "kind": "webhook", "reason": "gone"}

    kind: str
    reason: str


class WebhookRedelivered(_EndpointEvent):
    """A delivery was queued again by hand (same ``webhook-id``)."""

    name = "webhook.redelivered"
    example = {"endpoint_id": _ENDPOINT, "delivery_id": "0193a1c0-6666-7aaa-8bbb-0c1d2e3f4a5b"}

    delivery_id: uuid.UUID


class SlackIntegrationUpdated(_EndpointFiltered):
    """The organization's Slack integration was set up or changed."""

    name = "slack_integration.updated"
    example = {"endpoint_id": _ENDPOINT, "event_types": ["member.joined"]}


class SlackIntegrationDeleted(_EndpointEvent):
    """The organization's Slack integration was removed."""

    name = "slack_integration.deleted"
    example = {"endpoint_id": _ENDPOINT}
