"""What can go wrong when asking for an email. Delivery failures are not here: they happen
later, in the ``notifications.send_email`` job, which retries them.

========================  ======  ================================================
code                      status  when
========================  ======  ================================================
invalid_recipient         422     the address is not one mail can be sent to
unknown_email_template    500     no template of that name ships with Keel
invalid_email_context     500     the context is not JSON or lacks a template variable
not_found                 404     no notification of the caller's with this id
invalid_unsubscribe_link  400     the unsubscribe token was altered or is too old
========================  ======  ================================================
"""

from __future__ import annotations

from keel.kit.errors import AppError, NotFound


class InvalidRecipient(AppError):
    """The email address cannot receive mail: check it for typos (one ``@``, a domain with a
    dot) and send it again."""

    status = 422
    code = "invalid_recipient"
    title = "Invalid email address"


class UnknownEmailTemplate(AppError):
    """Keel asked for an email template it does not ship. This is a bug in Keel, not in the
    request; quote the ``X-Request-ID`` header when reporting it."""

    status = 500
    code = "unknown_email_template"
    title = "Unknown email template"


class InvalidEmailContext(AppError):
    """Keel built an email with data its template cannot use. This is a bug in Keel, not in
    the request; quote the ``X-Request-ID`` header when reporting it."""

    status = 500
    code = "invalid_email_context"
    title = "Invalid email context"


class NotificationNotFound(NotFound):
    """No notification with this id in the caller's inbox (another user's is never shown)."""

    title = "Notification not found"


class InvalidUnsubscribeLink(AppError):
    """The unsubscribe link was altered, cut short, or signed before the signing secret
    changed. Turn the emails off in your notification preferences instead."""

    status = 400
    code = "invalid_unsubscribe_link"
    title = "Invalid unsubscribe link"
