"""The web's errors.

==================  ======  ==========================================================
code                status  when
==================  ======  ==========================================================
csrf_failed         403     a form or htmx request came without the session's CSRF token
not_authenticated   401     a page needs a signed-in user (answered by a redirect to
                            ``/login``, not a page)
no_project          404     the organization has no project to add a document to
==================  ======  ==========================================================
"""

from __future__ import annotations

from keel.kit.errors import AppError, NotAuthenticated


class CsrfFailed(AppError):
    """The form was not sent from a page of this site in this browser session (its CSRF token
    is missing or wrong). Reload the page and send the form again."""

    status = 403
    code = "csrf_failed"
    title = "Form expired"


class SignInRequired(NotAuthenticated):
    """The page needs a signed-in user; the browser is sent to the login page."""


class NoProject(AppError):
    """The organization has no project yet, so there is nowhere to add a document. Create a
    project first."""

    status = 404
    code = "no_project"
    title = "No project yet"
