"""The flags domain's errors.

=========================  ======  ========================================================
code                       status  when
=========================  ======  ========================================================
not_found                  404     no flag has this key (it never existed, or was deleted)
flag_key_taken             409     another flag already has the key
flag_changed_concurrently  409     another change to the same flag was saved meanwhile
flag_definition_invalid    422     the definition does not compile; ``errors`` names each
                                   field (``body.targeting.rules.0.value``) and the fix
flag_prerequisite_cycle    422     the prerequisites would form a cycle; ``cycle`` lists it
unknown_flag_version       422     a rollback names a version this flag never had
=========================  ======  ========================================================
"""

from __future__ import annotations

from keel.kit.errors import Conflict, NotFound, ValidationFailed


class FlagNotFound(NotFound):
    """No feature flag has this key. List the flags (``GET /api/v1/admin/flags``) and use
    one of their keys."""


class FlagKeyTaken(Conflict):
    """Another feature flag already uses this key. Choose another key, or change the
    existing flag instead."""

    code = "flag_key_taken"
    title = "Flag key taken"


class FlagChangedConcurrently(Conflict):
    """Someone else saved a change to this flag at the same moment. Read it again and
    repeat your change."""

    code = "flag_changed_concurrently"
    title = "Flag changed concurrently"


class FlagDefinitionInvalid(ValidationFailed):
    """The flag definition cannot be used. The ``errors`` list names each faulty field and
    says how to fix it (see the flag reference in docs/flags.md)."""

    code = "flag_definition_invalid"
    title = "Invalid flag definition"


class FlagPrerequisiteCycle(FlagDefinitionInvalid):
    """The flag's prerequisites would form a cycle (a flag that, through others, requires
    itself could never be on). ``cycle`` lists the loop; remove one of its links."""

    code = "flag_prerequisite_cycle"
    title = "Prerequisite cycle"


class UnknownFlagVersion(ValidationFailed):
    """The flag has no version with this number. Read its history
    (``GET /api/v1/admin/flags/{key}/history``) and pick one of the listed versions."""

    code = "unknown_flag_version"
    title = "Unknown flag version"
