"""``Idempotency-Key`` for the POST endpoints that create (CONTRACT "Idempotency", ADR 0019).

A client sends ``Idempotency-Key: <1-255 printable ASCII characters>`` with a create. Keel
claims the key for the caller (the resolved actor, never the raw token), the method and the
path, in the request's own transaction, and stores the answer in that same transaction. So:

* a repeat with the same key and body gets the stored answer (``Idempotent-Replayed: true``)
  and has no second effect, even when it races the first (the unique index makes it wait);
* the same key with another body is 422 ``idempotency_key_reused``;
* a failed first attempt (4xx/5xx, rolled back) leaves no key: the client may retry;
* a key of one caller means nothing to another: it is simply a different key;
* keys expire after ``KEEL_IDEMPOTENCY__TTL_HOURS`` (24); the hourly ``idempotency.purge``
  job deletes them.

An endpoint opts in by declaring a guard made with :func:`guard` (``keel.auth.dependencies.
Idempotent``) after its authorization dependency; :class:`keel.kit.routing.JSONRoute` then
replays and stores answers around it.
"""

from keel.kit.idempotency.dependencies import (
    IdempotencyKeyHeader,
    begin,
    declared,
    finishing,
    guard,
)
from keel.kit.idempotency.tasks import PURGE_JOB, purge

__all__ = [
    "PURGE_JOB",
    "IdempotencyKeyHeader",
    "begin",
    "declared",
    "finishing",
    "guard",
    "purge",
]
