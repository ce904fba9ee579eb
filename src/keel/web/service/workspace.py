"""What the workspace pages show (the dashboard's panels, projects, documents, the onboarding
checklist), composed from the projects, plans and users services. Nothing here writes a row
or decides a rule: the services do both, exactly as for the API. The permission answers
below only choose which buttons a page offers; the service checks again on every change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import get_args

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access import service as access
from keel.access.schemas import Actor, OrgAccess
from keel.kit.repository import Window
from keel.kit.schemas import PageParams
from keel.plans import service as plans_service
from keel.projects import rules as projects_rules
from keel.projects import service as projects_service
from keel.projects.models import Project
from keel.projects.schemas import Classification, DocumentFilters, DocumentRead, ProjectFilters
from keel.projects.service.views import DocumentView
from keel.users import service as users_service
from keel.users.models import User
from keel.users.schemas import OnboardingRead, OnboardingUpdate

#: A document's classification choices as (value, label), least secret first.
CLASSIFICATIONS: tuple[tuple[str, str], ...] = tuple(
    (value, value.capitalize()) for value in get_args(Classification)
)
#: Rows per page of the projects and documents lists.
PAGE_SIZE = 20
#: The limits the dashboard's usage panel shows, with their names for people.
USAGE_SHOWN = {
    "max_projects": "Projects",
    "max_users": "Members",
    "max_api_calls_per_month": "API calls this month",
    "max_storage_gb": "Document storage",
}
_GIB = 1024**3


# ---- onboarding --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepInfo:
    title: str
    text: str
    #: The page of the organization where the step is done (``/app/{org_id}/<page>``).
    page: str
    #: The permission that page needs: without it the step shows no link.
    needs: str | None


STEPS: dict[str, StepInfo] = {
    "organization_details": StepInfo(
        "Add your organization's details",
        "Its name, logo and contact address, as your members and invoices show them.",
        "settings",
        "settings:read",
    ),
    "feature_tour": StepInfo(
        "Take the feature tour",
        "Two minutes on projects, members, plans, the audit log and integrations.",
        "tour",
        None,
    ),
    "integrations": StepInfo(
        "Connect an integration",
        "Send Keel's events to your own systems with a webhook.",
        "webhooks",
        "webhooks:read",
    ),
}


@dataclass(frozen=True, slots=True)
class ChecklistStep:
    name: str
    info: StepInfo
    #: "done", "skipped", or None while open.
    state: str | None


@dataclass(frozen=True, slots=True)
class Checklist:
    steps: list[ChecklistStep]

    @property
    def finished(self) -> int:
        return sum(step.state is not None for step in self.steps)


def checklist(user: User) -> Checklist | None:
    """The user's onboarding checklist as ``GET /me/onboarding`` reads it; None once it is
    complete (every step done or skipped), when the dashboard stops showing it."""
    read = OnboardingRead.of(user)
    if read.completed:
        return None
    return Checklist([ChecklistStep(s.name, STEPS[s.name], s.state) for s in read.steps])


def tour_finished(user: User) -> bool:
    return any(
        s.name == "feature_tour" and s.state == "done" for s in OnboardingRead.of(user).steps
    )


async def update_onboarding(
    session: AsyncSession, actor: Actor, user: User, data: OnboardingUpdate
) -> User:
    """What ``PATCH /me/onboarding`` does with the same body."""
    step = None if data.skip_all else data.step
    state = "skipped" if data.skip_all else data.state
    return await users_service.update_onboarding(session, actor, user, step=step, state=state)


# ---- plan usage --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UsageLine:
    label: str
    used: str
    #: "Unlimited" or the limit in the same unit as ``used``.
    limit: str
    #: Share of the limit used (0-100), for the meter; None when unlimited or not metered.
    percent: float | None


@dataclass(frozen=True, slots=True)
class PlanUsage:
    plan_name: str
    lines: list[UsageLine]


async def usage(session: AsyncSession, org: OrgAccess) -> PlanUsage:
    """The usage part of ``GET /orgs/{org_id}/plan`` for the limits people watch."""
    plan = await plans_service.organization_plan(session, org)
    lines = []
    for metric, label in USAGE_SHOWN.items():
        found = plan.usage.get(metric)
        if found is not None and found.used is not None:
            storage = metric == "max_storage_gb"
            lines.append(
                UsageLine(
                    label=label,
                    used=_bytes_text(found.used) if storage else f"{found.used:,}",
                    limit=_limit_text(found.limit, storage=storage),
                    percent=None if found.percent is None else min(found.percent, 100.0),
                )
            )
    return PlanUsage(plan.plan.name, lines)


def _limit_text(limit: int, *, storage: bool) -> str:
    if limit < 0:
        return "Unlimited"
    return f"{limit:,} GiB" if storage else f"{limit:,}"


def _bytes_text(size: int) -> str:
    """``1536`` -> ``"1.5 KiB"``: storage in the largest unit that keeps a leading digit."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB"):
        if value < 1024:
            return f"{value:,.0f} {unit}" if unit == "bytes" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{size / _GIB:,.2f} GiB"


# ---- projects and documents --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProjectPage:
    project: Project
    #: The page of its documents; None when the caller may not read documents at all.
    documents: Window[DocumentView] | None
    #: Of projects:write, projects:delete and documents:write, what the caller may do here.
    can: frozenset[str]


@dataclass(frozen=True, slots=True)
class DocumentPage:
    project: Project
    document: DocumentRead
    #: Of documents:write and documents:delete, what the caller may do to this document.
    can: frozenset[str]


def search_text(value: str | None) -> str | None:
    """A search box's text as the API's ``q`` takes it: trimmed, 1-200 characters."""
    text = (value or "").strip()[:200]
    return text or None


async def projects(
    session: AsyncSession, org: OrgAccess, *, q: str | None, cursor: str | None
) -> Window[Project]:
    filters = ProjectFilters(q=q)
    page = PageParams(limit=PAGE_SIZE, cursor=cursor)
    return await projects_service.list_projects(session, org, filters, page)


async def project_page(
    session: AsyncSession,
    org: OrgAccess,
    project_id: uuid.UUID,
    *,
    q: str | None,
    cursor: str | None,
) -> ProjectPage:
    project = await projects_service.get_project(session, org, project_id)
    documents = None
    if access.holds_somewhere(org, "documents:read"):
        page = PageParams(limit=PAGE_SIZE, cursor=cursor)
        documents = await projects_service.list_documents(
            session, org, project.id, DocumentFilters(q=q), page
        )
    return ProjectPage(project, documents, _project_actions(org, project))


async def document_page(
    session: AsyncSession, org: OrgAccess, project_id: uuid.UUID, document_id: uuid.UUID
) -> DocumentPage:
    """The document as ``GET .../documents/{id}`` answers it (the same cached read)."""
    project = await projects_service.get_project(session, org, project_id)
    view = await projects_service.get_document(session, org, project.id, document_id)
    document = DocumentRead.model_validate_json(view.json)
    return DocumentPage(project, document, _document_actions(org, project, document))


def _project_actions(org: OrgAccess, project: Project) -> frozenset[str]:
    resource = projects_rules.project_resource(
        organization_id=org.org_id, owner_id=project.owner_id, team_id=project.team_id
    )
    can = {p for p in ("projects:write", "projects:delete") if access.can(org, p, resource)}
    if access.holds_somewhere(org, "documents:write"):
        can.add("documents:write")  # a new document is the caller's own
    return frozenset(can)


def _document_actions(org: OrgAccess, project: Project, document: DocumentRead) -> frozenset[str]:
    resource = projects_rules.document_resource(
        organization_id=org.org_id,
        owner_id=document.owner_id,
        team_id=project.team_id,
        classification=document.classification,
        shared_with=document.shared_with,
        tags=document.tags,
    )
    permissions = ("documents:write", "documents:delete")
    return frozenset(p for p in permissions if access.can(org, p, resource))
