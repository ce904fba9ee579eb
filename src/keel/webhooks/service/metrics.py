"""The webhooks domain's Prometheus series (GUIDE §4 names)."""

from prometheus_client import Counter, Histogram

DELIVERIES = Counter(
    "keel_webhooks_deliveries_total",
    "Delivery attempts, by outcome (succeeded, failed, gone: answered 410).",
    ["outcome"],
)
DELIVERY_SECONDS = Histogram(
    "keel_webhooks_delivery_seconds",
    "Time one delivery attempt took, from connect to the response's excerpt.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0),
)
LAG_SECONDS = Histogram(
    "keel_webhooks_lag_seconds",
    "From the event's occurrence to its successful delivery (retries included).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0, 600.0, 3600.0, 86_400.0),
)
