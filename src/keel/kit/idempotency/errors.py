"""The refusals of ``Idempotency-Key`` (a malformed key is 422 ``validation_error``)."""

from __future__ import annotations

from keel.kit.errors import AppError


class IdempotencyKeyReused(AppError):
    """This ``Idempotency-Key`` was already used with another request body (or query) on this
    path. Send a new key for a new request; repeat a request only with exactly its first body."""

    status = 422
    code = "idempotency_key_reused"
    title = "Idempotency key reused"


class IdempotencyKeyInProgress(AppError):
    """The first request with this ``Idempotency-Key`` has not finished answering yet. Wait
    ``Retry-After`` seconds and send the same request again to get its answer."""

    status = 409
    code = "idempotency_key_in_progress"
    title = "Idempotency key in progress"
