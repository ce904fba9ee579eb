"""The webhooks domain's errors.

=====================  ======  ==============================================================
code                   status  when
=====================  ======  ==============================================================
not_found              404     the endpoint, delivery or Slack integration does not exist in
                               this organization (another tenant's looks exactly the same)
webhook_url_forbidden  422     the URL may not be called: not http(s), credentials in it, or
                               its host resolves to a loopback, private, link-local,
                               multicast, reserved or cloud-metadata address (SSRF guard)
unknown_event_type     422     an ``event_types`` entry is not in the event catalog
=====================  ======  ==============================================================
"""

from __future__ import annotations

from keel.kit.errors import NotFound, ValidationFailed


class WebhookNotFound(NotFound):
    """No webhook endpoint with this id exists in this organization. List the endpoints and
    use one of their ids."""


class DeliveryNotFound(NotFound):
    """No delivery with this id exists for this webhook endpoint. List the endpoint's
    deliveries and use one of their ids."""


class SlackNotConfigured(NotFound):
    """This organization has no Slack integration. ``PUT`` one first."""


class WebhookUrlForbidden(ValidationFailed):
    """Keel refuses to call this URL. Webhooks go to public internet addresses only: the URL
    must be ``http(s)://`` without a user name or password, and its host must not resolve to
    a loopback, private, link-local, multicast, reserved or cloud-metadata address (such a
    target would let anyone make Keel call its own infrastructure). ``detail`` names the
    address and its class; point the URL at a public host."""

    code = "webhook_url_forbidden"
    title = "Webhook URL forbidden"


class UnknownEventType(ValidationFailed):
    """An entry of ``event_types`` is not an event Keel publishes. ``GET
    /api/v1/webhooks/event-types`` lists the names; leave the list empty for every event."""

    code = "unknown_event_type"
    title = "Unknown event type"
