"""What the pages do, composed from the domains' services (GUIDE §3.7): the web never
writes a row itself, so a page, the API and the CLI cannot disagree about a rule."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor, OrgAccess
from keel.auth.service import login, registration, sessions, tokens
from keel.config import Settings
from keel.kit.cache import Cache
from keel.kit.schemas import PageParams
from keel.organizations import rules as organizations_rules
from keel.organizations.models import Organization
from keel.organizations.schemas import OrganizationCreate
from keel.organizations.service import access as org_access
from keel.organizations.service import orgs
from keel.projects import service as projects_service
from keel.projects.models import Document, Project
from keel.projects.schemas import DocumentCreate, DocumentFilters, ProjectFilters
from keel.projects.service.views import DocumentView
from keel.users import service as users_service
from keel.users.models import User
from keel.web import rules
from keel.web.errors import NoProject

#: Documents the dashboard lists (newest first).
DASHBOARD_DOCUMENTS = 20
#: Projects the dashboard lists (newest first), with a link to all of them.
DASHBOARD_PROJECTS = 5


@dataclass(frozen=True, slots=True)
class SignedUp:
    user: User
    session_id: uuid.UUID
    #: The personal organization (None when KEEL_ONBOARDING__PERSONAL_ORGANIZATION is off).
    org_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Dashboard:
    user: User
    organization: Organization
    project: Project | None
    documents: list[DocumentView]
    #: The newest projects the caller may read (``project`` is the first of them).
    projects: list[Project]
    #: More projects exist than ``projects`` shows.
    more_projects: bool


async def sign_up(
    session: AsyncSession,
    actor: Actor,
    *,
    email: str,
    name: str,
    password: str,
    cache: Cache,
    settings: Settings,
) -> SignedUp:
    """The account, its personal organization with the sample data, and a signed-in session,
    in the request's one transaction: the browser lands on a ready dashboard. The
    ``user.created`` / ``organization.created`` subscribers then find the work done and skip."""
    user = await registration.register(
        session, actor, email=email, name=name, password=password, settings=settings
    )
    org_id = await _personal_workspace(session, user, settings=settings)
    user_actor = Actor(
        kind="user",
        id=str(user.id),
        ip=actor.ip,
        user_agent=actor.user_agent,
        request_id=actor.request_id,
    )
    pair = await login.complete_login(session, user_actor, user, cache=cache, settings=settings)
    return SignedUp(user=user, session_id=pair.session_id, org_id=org_id)


async def _personal_workspace(
    session: AsyncSession, user: User, *, settings: Settings
) -> uuid.UUID | None:
    """What the onboarding jobs would do, now, acting as they do (``system:onboarding`` for
    the user), so the audit log reads the same whichever path ran."""
    if not settings.onboarding.personal_organization:
        return None
    onboarding = Actor(kind="system", id="onboarding", on_behalf_of=user.id)
    data = OrganizationCreate(name=organizations_rules.personal_organization_name(user.name))
    org = await orgs.create(session, onboarding, user, data)
    if settings.onboarding.sample_data:
        tenant = await org_access.open_org(session, onboarding, org.id, writes=True)
        await projects_service.add_sample_data(session, tenant)
    return org.id


async def actor_for(
    session: AsyncSession, state: rules.WebSession, origin: Actor, *, cache: Cache
) -> Actor | None:
    """The cookie's Actor, built as ``keel.auth.dependencies.actor_for_token`` builds a bearer
    token's: same session check, same fields. None when signed out or the session ended."""
    if state.session_id is None or state.user_id is None:
        return None
    if not await sessions.is_live(session, state.session_id, user_id=state.user_id, cache=cache):
        return None
    return Actor(
        kind="user",
        id=str(state.user_id),
        ip=origin.ip,
        user_agent=origin.user_agent,
        request_id=origin.request_id,
        session_id=state.session_id,
    )


def user_of_pair(settings: Settings, pair: login.TokenPair) -> uuid.UUID:
    """The user a just-issued token pair belongs to (read back from its access token)."""
    return tokens.read_access_token(settings, pair.access_token).user_id


async def first_organization(session: AsyncSession, user_id: uuid.UUID) -> uuid.UUID | None:
    mine = await orgs.list_mine(session, user_id)
    return mine[0][0].id if mine else None


async def dashboard(session: AsyncSession, org: OrgAccess, user: User) -> Dashboard:
    """The organization, its newest projects, the first of them (the newest the caller may
    read: the sample project after sign-up) and that project's newest documents."""
    organization = await orgs.get(session, org)
    projects = await projects_service.list_projects(
        session, org, ProjectFilters(), PageParams(limit=DASHBOARD_PROJECTS)
    )
    project = projects.items[0] if projects.items else None
    documents: list[DocumentView] = []
    if project is not None:
        window = await projects_service.list_documents(
            session, org, project.id, DocumentFilters(), PageParams(limit=DASHBOARD_DOCUMENTS)
        )
        documents = window.items
    return Dashboard(
        user=user,
        organization=organization,
        project=project,
        documents=documents,
        projects=projects.items,
        more_projects=projects.next_cursor is not None,
    )


async def add_document(session: AsyncSession, org: OrgAccess, data: DocumentCreate) -> Document:
    project = await _first_project(session, org)
    if project is None:
        raise NoProject("This organization has no project yet; create one, then add documents.")
    return await projects_service.create_document(session, org, project.id, data)


async def _first_project(session: AsyncSession, org: OrgAccess) -> Project | None:
    window = await projects_service.list_projects(
        session, org, ProjectFilters(), PageParams(limit=1)
    )
    return window.items[0] if window.items else None


async def user_of(session: AsyncSession, actor: Actor) -> User | None:
    return None if actor.user_id is None else await users_service.get(session, actor.user_id)
