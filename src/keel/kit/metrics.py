"""Prometheus metrics shared by the HTTP layer and the job runner.

Names follow GUIDE §4 (``keel_<domain>_<thing>_<unit>``) except the two HTTP series, whose
conventional names dashboards already expect.
"""

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from the first byte of a request to the last byte of its response.",
    ["method", "route", "status_code"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered.",
    ["method", "route", "status_code"],
)
JOBS_PROCESSED = Counter(
    "keel_jobs_processed_total",
    "Jobs run, by name and outcome (done, retry, dead).",
    ["name", "outcome"],
)
JOB_DURATION = Histogram(
    "keel_jobs_duration_seconds",
    "Time a job's handler ran.",
    ["name"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0),
)
JOB_QUEUE_DEPTH = Gauge(
    "keel_jobs_queue_depth",
    "Jobs per state, as last seen by a worker in this process.",
    ["status"],
)
OUTBOX_LAG = Gauge(
    "keel_jobs_outbox_lag_seconds",
    "Age of the oldest job that is due and not yet taken (0 when none).",
)
RATELIMIT_FALLBACKS = Counter(
    "keel_ratelimit_fallbacks_total",
    "Rate-limit decisions Redis could not make, by what answered instead "
    "(fallback: the in-process limiter, open: allowed, closed: refused with 503).",
    ["mode"],
)
