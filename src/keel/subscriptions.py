"""THE map from event name to the handlers that react to it (GUIDE §1).

One explicit dict, read top to bottom: to learn what happens when ``user.created`` is
published, look here. Handlers are ``async def handler(session, envelope, ctx)`` living in the
reacting domain's ``tasks.py``; each runs as its own job, retried on its own, and must be
idempotent on ``envelope.id``. The integrations issue fills in the catalog.
"""

from keel.events.tasks import EventHandler

SUBSCRIPTIONS: dict[str, list[EventHandler]] = {}
