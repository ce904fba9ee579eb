"""Durable jobs on the database (the outbox): enqueue in the caller's transaction, run at
least once by a worker, retry with backoff, then park as ``dead`` for an operator.

Why not a queue library: Keel needs jobs enqueued *in the same transaction* as the change
that causes them, on SQLite and on PostgreSQL alike. procrastinate and pgqueuer are
PostgreSQL-only, arq/saq/taskiq/dramatiq need a broker outside that transaction. So this
package stays small and its guarantees are proven in ``tests/kit/jobs``.

States: ``queued`` -> ``running`` -> ``done`` | back to ``queued`` (retry) | ``dead``.
A ``running`` job whose lease ran out (its worker died) is claimed again. Finishing is
fenced on (worker, attempt): a worker that lost its lease cannot commit its work.
"""

from keel.kit.jobs.queue import JobContext, JobHandler, enqueue, release_dedupe_key

__all__ = ["JobContext", "JobHandler", "enqueue", "release_dedupe_key"]
