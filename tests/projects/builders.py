"""Builders for projects tests: a small organization with people in each role, projects and
documents written through the service (so audit and events are real)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import OrgAccess
from keel.config import Settings
from keel.organizations.models import Organization, Team
from keel.projects import service
from keel.projects.models import Document, Project
from keel.projects.schemas import Classification, DocumentCreate, ProjectCreate
from keel.users.models import User
from tests.helpers.tenancy import Caller, access_for, add_member, make_caller, make_org, make_team


@dataclass(frozen=True)
class Workspace:
    """An organization with its admin and one caller per other role, plus two teams; the
    manager and ``member`` belong to ``team``, ``outsider`` to ``other_team``."""

    org: Organization
    team: Team
    other_team: Team
    admin: Caller
    manager: Caller
    member: Caller
    outsider: Caller
    user: Caller
    guest: Caller

    async def access(self, db: AsyncSession, who: Caller | User) -> OrgAccess:
        """Opens the organization for ``who`` (and makes it the transaction's tenant again)."""
        user = who.user if isinstance(who, Caller) else who
        return await access_for(db, user, self.org)


async def make_workspace(db: AsyncSession, settings: Settings) -> Workspace:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    team, other_team = await make_team(db, org), await make_team(db, org)
    callers: dict[str, Caller] = {}
    for role, name, in_team in (
        ("manager", "manager", team),
        ("member", "member", team),
        ("member", "outsider", other_team),
        ("user", "user", None),
        ("guest", "guest", None),
    ):
        callers[name] = await make_caller(db, settings)
        await add_member(db, org, callers[name].user, role=role, team=in_team)
    return Workspace(org=org, team=team, other_team=other_team, admin=admin, **callers)


async def make_project(
    db: AsyncSession,
    org: OrgAccess,
    *,
    name: str | None = None,
    team_id: uuid.UUID | None = None,
    description: str | None = None,
) -> Project:
    data = ProjectCreate(
        name=name or f"Project {uuid.uuid4().hex[:6]}", team_id=team_id, description=description
    )
    return await service.create_project(db, org, data)


async def make_document(
    db: AsyncSession,
    org: OrgAccess,
    project: Project,
    *,
    title: str | None = None,
    body: str = "",
    classification: Classification = "internal",
    tags: Sequence[str] = (),
    shared_with: Sequence[uuid.UUID] = (),
    **fields: Any,
) -> Document:
    data = DocumentCreate(
        title=title or f"Document {uuid.uuid4().hex[:6]}",
        body=body,
        classification=classification,
        tags=list(tags),
        shared_with=list(shared_with),
        **fields,
    )
    return await service.create_document(db, org, project.id, data)
