"""The personal organization made at sign-up (``user.created`` ->
``organizations.tasks.create_personal_organization``), and the whole onboarding path a new
user walks: register, the worker runs, ``GET /me`` lists "<Name>'s organization" where they
are admin, and its demo project is there."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.events import service as events_service
from keel.events.models import EventRecord
from keel.events.schemas import EventEnvelope
from keel.kit.deps import Resources
from keel.kit.jobs import JobContext
from keel.kit.jobs.runner import Runner
from keel.organizations import rules, tasks
from keel.organizations.service import orgs
from keel.projects import tasks as projects_tasks
from keel.subscriptions import SUBSCRIPTIONS
from keel.users.events import UserCreated
from keel.users.models import DISABLED, User
from keel.worker import job_handlers
from tests.helpers.tenancy import caller_for, make_org, make_user


def context_for(resources: Resources, **onboarding: Any) -> JobContext:
    settings = resources.settings
    if onboarding:
        settings = settings.model_copy(
            update={"onboarding": settings.onboarding.model_copy(update=onboarding)}
        )
    chosen = dataclasses.replace(resources, settings=settings)
    return JobContext(uuid.uuid4(), "events.handle", 1, chosen)


async def user_created(db: AsyncSession, user: User) -> EventEnvelope:
    """The ``user.created`` envelope a sign-up of ``user`` publishes."""
    event_id = await events_service.publish(
        db, UserCreated(user_id=user.id, email=user.email, display_name=user.name)
    )
    envelope = await events_service.get_envelope(db, event_id)
    assert envelope is not None
    return envelope


def test_subscriptions__user_created__creates_personal_organization() -> None:
    assert tasks.create_personal_organization in SUBSCRIPTIONS["user.created"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Ada Lovelace", "Ada Lovelace's organization"),
        ("  Grace  ", "Grace's organization"),
        ("x" * 200, "x" * 185 + "'s organization"),
    ],
)
def test_personal_organization_name__user_name__fits_200_characters(
    name: str, expected: str
) -> None:
    assert rules.personal_organization_name(name) == expected
    assert len(rules.personal_organization_name(name)) <= 200


async def test_user_created__new_user__personal_organization_with_user_as_admin(
    db: AsyncSession, resources: Resources
) -> None:
    # Given a new user
    user = await make_user(db, name="Ada Lovelace")
    envelope = await user_created(db, user)
    # When user.created is handled, twice (a second delivery)
    for _ in range(2):
        await tasks.create_personal_organization(db, envelope, context_for(resources))
    # Then they have one organization, named for them, where they are admin
    [(org, role)] = await orgs.list_mine(db, user.id)
    assert (org.name, role) == ("Ada Lovelace's organization", "admin")


@pytest.mark.parametrize("why", ["turned off", "disabled", "already a member"])
async def test_user_created__no_personal_organization_when__(
    db: AsyncSession, resources: Resources, why: str
) -> None:
    # Given a user who should not get one
    user = await make_user(db)
    envelope = await user_created(db, user)
    if why == "disabled":
        user.status = DISABLED
    if why == "already a member":
        await make_org(db, user, name="Invited first")
    # When user.created is handled
    off = {"personal_organization": False} if why == "turned off" else {}
    await tasks.create_personal_organization(db, envelope, context_for(resources, **off))
    # Then no organization was made for them
    names = [org.name for org, _ in await orgs.list_mine(db, user.id)]
    assert names == ([] if why != "already a member" else ["Invited first"])


async def test_sign_up__worker_runs__me_lists_personal_org_with_demo_project(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, resources: Resources
) -> None:
    # Given a sign-up through the API
    answer = await client.post(
        "/api/v1/auth/register",
        json={"email": "ada@example.com", "password": "a long enough passphrase 42", "name": "Ada"},
    )
    assert answer.status_code == 201, answer.text
    # When the worker runs the onboarding handlers
    subscriptions = {
        "user.created": [tasks.create_personal_organization],
        "organization.created": [projects_tasks.add_sample_data],
    }
    runner = Runner(resources, job_handlers(subscriptions))
    while await runner.run_once():
        pass
    # Then /me lists their organization, where they are admin, and it holds the demo project
    user = (await db.scalars(select(User).where(User.email == "ada@example.com"))).one()
    caller = await caller_for(db, settings, user)
    me = (await client.get("/api/v1/me", headers=caller.headers)).json()
    [membership] = me["organizations"]
    assert (membership["name"], membership["role"]) == ("Ada's organization", "admin")
    projects = await client.get(f"/api/v1/orgs/{membership['id']}/projects", headers=caller.headers)
    assert [p["name"] for p in projects.json()["items"]] == ["Demo project"]
    created = await db.scalars(
        select(EventRecord.name).where(EventRecord.name == "project.created")
    )
    assert list(created) == ["project.created"]
