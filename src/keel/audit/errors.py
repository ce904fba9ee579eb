"""The audit domain's errors.

=======================  ======  ===============================================================
code                     status  when
=======================  ======  ===============================================================
validation_error         422     (core) a filter of the query API is malformed: ``since`` not
                                 before ``until``, or a cursor Keel did not issue
audit_purge_refused      409     a purge asked to delete entries younger than the
                                 organization's retention (the database refuses it too)
=======================  ======  ===============================================================
"""

from __future__ import annotations

from keel.kit.errors import AppError, ValidationFailed


class InvalidTimeRange(ValidationFailed):
    """``since`` must be before ``until``. Swap them, or leave one out."""


class PurgeRefused(AppError):
    """The audit log keeps entries for the organization's retention period; entries younger
    than that cannot be purged. Wait until they are old enough."""

    status = 409
    code = "audit_purge_refused"
    title = "Audit purge refused"
