"""Sample data for a new organization: a demo project with a few documents, written through
the same functions as a user's (permission-checked, audited, published)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import OrgAccess
from keel.projects import rules
from keel.projects.models import Project
from keel.projects.repository import ProjectRepository
from keel.projects.schemas import DocumentCreate, ProjectCreate
from keel.projects.service.documents import create_document
from keel.projects.service.projects import create_project


async def add_sample_data(session: AsyncSession, org: OrgAccess) -> Project | None:
    """The demo project, or None when the organization already has a project: sample data
    never mixes with real work, and a repeated call adds nothing."""
    if await ProjectRepository(session, org.org_id).count():
        return None
    project = await create_project(session, org, ProjectCreate(**rules.SAMPLE_PROJECT))
    for document in rules.SAMPLE_DOCUMENTS:
        await create_document(session, org, project.id, DocumentCreate(**document))
    return project
