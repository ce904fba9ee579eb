"""Outbound webhooks and the Slack integration: the domain's API.

- ``endpoints``: webhook endpoints (CRUD, secret shown once, rotation), the URL and event checks;
- ``slack``: the organization's Slack integration, an endpoint of kind ``slack``;
- ``fanout``: event -> message -> one delivery per subscribed endpoint (the ``"*"`` handler);
- ``delivery``: the ``webhooks.deliver`` job (claim, send, record, retry, disable) and the sweep;
- ``sending``: one signed HTTP attempt through the SSRF-guarded client;
- ``log``: the delivery log, redelivery and the test ping;
- ``retention``: the daily ``webhooks.purge`` of the log past ``log_retention_days``.
"""

from keel.webhooks.service.delivery import DELIVER_JOB, SWEEP_JOB, drain, schedule_drain, sweep
from keel.webhooks.service.endpoints import (
    create_webhook,
    delete_webhook,
    event_types,
    get_webhook,
    list_webhooks,
    rotate_secret,
    update_webhook,
)
from keel.webhooks.service.fanout import fan_out
from keel.webhooks.service.log import (
    delivery_read,
    get_delivery,
    last_attempts,
    latest_deliveries,
    list_attempts,
    list_deliveries,
    ping,
    redeliver,
)
from keel.webhooks.service.retention import PURGE_JOB, Purged, purge_log
from keel.webhooks.service.slack import delete_slack, get_slack, ping_slack, put_slack, slack_read

__all__ = [
    "DELIVER_JOB",
    "PURGE_JOB",
    "SWEEP_JOB",
    "Purged",
    "create_webhook",
    "delete_slack",
    "delete_webhook",
    "delivery_read",
    "drain",
    "event_types",
    "fan_out",
    "get_delivery",
    "get_slack",
    "get_webhook",
    "last_attempts",
    "latest_deliveries",
    "list_attempts",
    "list_deliveries",
    "list_webhooks",
    "ping",
    "ping_slack",
    "purge_log",
    "put_slack",
    "redeliver",
    "rotate_secret",
    "schedule_drain",
    "slack_read",
    "sweep",
    "update_webhook",
]
