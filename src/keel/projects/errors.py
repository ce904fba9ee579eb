"""The projects domain's errors.

================  ======  ==================================================================
code              status  when
================  ======  ==================================================================
not_found         404     the project or document does not exist *for the caller*: another
                          tenant's, one in another project, or one the caller may not read
                          all look exactly like a missing one
unknown_team      422     ``team_id`` names no team of this organization
permission_denied 403     (core) the caller may read the object but not make this change
================  ======  ==================================================================
"""

from __future__ import annotations

from keel.kit.errors import NotFound, ValidationFailed


class ProjectNotFound(NotFound):
    """No project with this id exists in this organization for you. Check the id."""


class DocumentNotFound(NotFound):
    """No document with this id exists in this project for you. Check both ids."""


class UnknownTeam(ValidationFailed):
    """``team_id`` names no team of this organization. List the teams and pick one of them,
    or send ``null`` for a project outside any team."""

    code = "unknown_team"
    title = "Unknown team"
