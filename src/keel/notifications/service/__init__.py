"""The notifications domain's API (``from keel.notifications import service as
notifications_service``).

- ``mail``: ``send_email`` (queued in the caller's transaction, sent by a job), branded
  rendering, unsubscribe links and the send-time preference check.
- ``inbox``: ``notify`` (the one way an in-app notification is made), the user's inbox, and
  its live stream.
- ``preferences``: email categories a user turned off, by the preferences API or a link.
"""

from keel.notifications.service.inbox import (
    mark_all_read,
    mark_read,
    notify,
    page,
    purge,
    stream,
    unread_count,
)
from keel.notifications.service.mail import (
    SEND_EMAIL_JOB,
    brand,
    deliver,
    send_email,
    send_test_email,
    unsubscribe_key,
)
from keel.notifications.service.preferences import read as read_preferences
from keel.notifications.service.preferences import unsubscribe
from keel.notifications.service.preferences import update as update_preferences

__all__ = [
    "SEND_EMAIL_JOB",
    "brand",
    "deliver",
    "mark_all_read",
    "mark_read",
    "notify",
    "page",
    "purge",
    "read_preferences",
    "send_email",
    "send_test_email",
    "stream",
    "unread_count",
    "unsubscribe",
    "unsubscribe_key",
    "update_preferences",
]
