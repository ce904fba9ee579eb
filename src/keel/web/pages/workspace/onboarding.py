"""The onboarding checklist's buttons (``POST /app/onboarding/...``, what ``PATCH
/api/v1/me/onboarding`` does) and the feature tour, whose "Finish tour" is one of them.

The buttons answer with a redirect back to the dashboard (``next``) for both paths: without
JavaScript the browser loads it; with htmx the XHR follows the redirect and the checklist is
taken out of the dashboard (``hx-select``) and swapped in place, the notice with it."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from keel.kit.deps import DbSession
from keel.users.schemas import OnboardingUpdate
from keel.web import rules
from keel.web.dependencies import OrgShell, WebActor, WebForm, WebMember, WebState, WebUser
from keel.web.pages.render import redirect, render
from keel.web.pages.workspace.common import parse
from keel.web.service import workspace

router = APIRouter()

#: A button's ``action`` -> the step state the API takes.
STEP_ACTIONS = {"done": "done", "skip": "skipped"}


@router.get("/app/{org_id}/tour")
async def tour_page(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    org: WebMember,
    shell: OrgShell,
) -> Response:
    return render(
        request,
        "pages/workspace/tour.html",
        state,
        shell=shell,
        nav="dashboard",
        finished=workspace.tour_finished(shell.user),
    )


@router.post("/app/onboarding/skip-all")
async def hide_checklist(
    request: Request, *, form: WebForm, actor: WebActor, user: WebUser, db: DbSession
) -> Response:
    await workspace.update_onboarding(db, actor, user, OnboardingUpdate(skip_all=True))
    return redirect(request, _next(form), notice="Checklist hidden.")


@router.post("/app/onboarding/{step}")
async def onboarding_step(
    request: Request,
    *,
    step: str,
    form: WebForm,
    actor: WebActor,
    user: WebUser,
    db: DbSession,
) -> Response:
    """``action=done|skip`` marks ``step``; anything else is the 422 page."""
    action = form.get("action", "")
    data = parse(OnboardingUpdate, step=step, state=STEP_ACTIONS.get(action, action))
    await workspace.update_onboarding(db, actor, user, data)
    title = workspace.STEPS[step].title
    done = "marked done" if data.state == "done" else "skipped"
    return redirect(request, _next(form), notice=f"“{title}” {done}.")


def _next(form: dict[str, str]) -> str:
    """Back where the button was (a path of this site only), else the app's home."""
    return rules.safe_next_path(form.get("next")) or "/app"
