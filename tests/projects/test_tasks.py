"""Sample data on ``organization.created``: a demo project with documents, written for the
organization's creator by ``system:onboarding`` through the projects service (permission
checks, audit, events), once per organization however often the event arrives."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.audit.models import AuditLog
from keel.events import service as events_service
from keel.events.models import EventRecord
from keel.events.schemas import EventEnvelope
from keel.kit import tenancy
from keel.kit.deps import Resources
from keel.kit.jobs import JobContext
from keel.organizations.models import Organization
from keel.projects import rules, tasks
from keel.projects.models import Document, Project
from keel.projects.schemas import DocumentCreate, ProjectCreate
from keel.subscriptions import SUBSCRIPTIONS
from tests.helpers.tenancy import make_org, make_user


def context_for(resources: Resources, **onboarding: Any) -> JobContext:
    settings = resources.settings
    if onboarding:
        settings = settings.model_copy(
            update={"onboarding": settings.onboarding.model_copy(update=onboarding)}
        )
    return JobContext(
        uuid.uuid4(), "events.handle", 1, dataclasses.replace(resources, settings=settings)
    )


async def created_envelope(db: AsyncSession, org: Organization) -> EventEnvelope:
    stmt = select(EventRecord.id).where(
        EventRecord.name == "organization.created", EventRecord.organization_id == org.id
    )
    envelope = await events_service.get_envelope(db, (await db.scalars(stmt)).one())
    assert envelope is not None
    return envelope


async def projects_of(db: AsyncSession, org: Organization) -> list[Project]:
    await tenancy.enter_tenant(db, org.id)
    return list((await db.scalars(select(Project).where(Project.organization_id == org.id))).all())


async def document_count(db: AsyncSession, project: Project) -> int:
    stmt = select(func.count()).select_from(Document).where(Document.project_id == project.id)
    return int(await db.scalar(stmt) or 0)


def test_subscriptions__organization_created__adds_sample_data() -> None:
    assert tasks.add_sample_data in SUBSCRIPTIONS["organization.created"]


async def test_organization_created__sample_data__demo_project_owned_by_creator_and_audited(
    db: AsyncSession, resources: Resources
) -> None:
    # Given a new organization
    owner = await make_user(db)
    org = await make_org(db, owner)
    # When its organization.created is handled
    await tasks.add_sample_data(db, await created_envelope(db, org), context_for(resources))
    # Then it holds the demo project and its documents, owned by the creator
    [project] = await projects_of(db, org)
    assert (project.name, project.owner_id) == (rules.SAMPLE_PROJECT["name"], owner.id)
    assert await document_count(db, project) == len(rules.SAMPLE_DOCUMENTS)
    # And each write was audited as Keel's onboarding, acting for the creator
    actors = {
        (entry.actor_kind, entry.actor_id, entry.action)
        for entry in await db.scalars(
            select(AuditLog).where(AuditLog.action.in_(["project.created", "document.created"]))
        )
    }
    assert actors == {
        ("system", "onboarding", "project.created"),
        ("system", "onboarding", "document.created"),
    }


async def test_organization_created__delivered_twice__one_demo_project(
    db: AsyncSession, resources: Resources
) -> None:
    # Given the event handled once
    org = await make_org(db, await make_user(db))
    envelope = await created_envelope(db, org)
    await tasks.add_sample_data(db, envelope, context_for(resources))
    # When it is delivered again
    await tasks.add_sample_data(db, envelope, context_for(resources))
    # Then there is still one demo project
    assert len(await projects_of(db, org)) == 1


async def test_organization_created__sample_data_turned_off__nothing_added(
    db: AsyncSession, resources: Resources
) -> None:
    org = await make_org(db, await make_user(db))
    await tasks.add_sample_data(
        db, await created_envelope(db, org), context_for(resources, sample_data=False)
    )
    assert await projects_of(db, org) == []


async def test_organization_created__org_deleted_before_job__skipped_quietly(
    db: AsyncSession, resources: Resources
) -> None:
    # Given an organization deleted before its event was handled
    org = await make_org(db, await make_user(db))
    envelope = await created_envelope(db, org)
    await tenancy.enter_tenant(db, org.id)
    await db.delete(org)
    await db.flush()
    # When the event is handled; Then nothing is written and nothing fails
    await tasks.add_sample_data(db, envelope, context_for(resources))
    assert await projects_of(db, org) == []


def test_sample_documents__valid_for_the_api() -> None:
    # The catalog passes the same validation as a client's request
    ProjectCreate(**rules.SAMPLE_PROJECT)
    for document in rules.SAMPLE_DOCUMENTS:
        DocumentCreate(**document)
