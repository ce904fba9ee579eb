"""``GET/PATCH /api/v1/me/onboarding``: the caller's checklist, each step done or skipped, or
all skipped at once; the change that closes the last step completes onboarding, once."""

from __future__ import annotations

from typing import get_args

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.audit.models import AuditLog
from keel.config import Settings
from keel.events.models import EventRecord
from keel.users import rules
from keel.users.schemas import OnboardingStepName
from tests.helpers.tenancy import make_caller
from tests.kit.test_http import assert_problem

URL = "/api/v1/me/onboarding"


async def events_named(db: AsyncSession, name: str) -> list[EventRecord]:
    return list((await db.scalars(select(EventRecord).where(EventRecord.name == name))).all())


async def test_get_onboarding__anonymous__401(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(URL), 401, "not_authenticated")
    assert_problem(await client.patch(URL, json={"skip_all": True}), 401, "not_authenticated")


async def test_get_onboarding__new_user__every_step_open(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    caller = await make_caller(db, settings)
    answer = await client.get(URL, headers=caller.headers)
    assert answer.status_code == 200
    assert answer.json() == {
        "steps": [{"name": name, "state": None} for name in rules.ONBOARDING_STEPS],
        "completed": False,
        "completed_at": None,
    }


async def test_patch_onboarding__step_done__recorded_audited_and_published(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a new user
    caller = await make_caller(db, settings)
    # When they finish the feature tour
    answer = await client.patch(
        URL, json={"step": "feature_tour", "state": "done"}, headers=caller.headers
    )
    # Then the step is done, the rest still open, and the change audited and published
    assert answer.status_code == 200
    states = {s["name"]: s["state"] for s in answer.json()["steps"]}
    assert states == {"organization_details": None, "feature_tour": "done", "integrations": None}
    assert answer.json()["completed"] is False
    entry = await db.scalar(select(AuditLog).where(AuditLog.action == "user.onboarding_updated"))
    assert entry is not None and entry.target_id == str(caller.user.id)
    [updated] = await events_named(db, "user.updated")
    assert updated.payload == {"user_id": str(caller.user.id), "fields": ["onboarding_steps"]}
    assert await events_named(db, "user.onboarding_completed") == []


async def test_patch_onboarding__last_step_closed__completed_once(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a user who did two steps
    caller = await make_caller(db, settings)
    for step in ("organization_details", "feature_tour"):
        await client.patch(URL, json={"step": step}, headers=caller.headers)
    # When they skip the last one, then skip everything again
    answer = await client.patch(
        URL, json={"step": "integrations", "state": "skipped"}, headers=caller.headers
    )
    again = await client.patch(URL, json={"skip_all": True}, headers=caller.headers)
    # Then onboarding completed, once, naming what was skipped
    assert answer.json()["completed"] is True
    assert again.json() == answer.json()
    [completed] = await events_named(db, "user.onboarding_completed")
    assert completed.payload == {"user_id": str(caller.user.id), "skipped": ["integrations"]}


async def test_patch_onboarding__skip_all__open_steps_skipped_done_kept(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    caller = await make_caller(db, settings)
    await client.patch(URL, json={"step": "feature_tour"}, headers=caller.headers)
    answer = await client.patch(URL, json={"skip_all": True}, headers=caller.headers)
    states = {s["name"]: s["state"] for s in answer.json()["steps"]}
    assert states == {
        "organization_details": "skipped",
        "feature_tour": "done",
        "integrations": "skipped",
    }
    assert answer.json()["completed"] is True
    assert answer.json()["completed_at"] is not None


async def test_patch_onboarding__bad_body__422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    caller = await make_caller(db, settings)
    for body in (
        {"step": "world_domination"},
        {"step": "feature_tour", "state": "maybe"},
        {"step": "feature_tour", "skip_all": True},
        {},
        {"skip_all": True, "completed": True},
    ):
        answer = await client.patch(URL, json=body, headers=caller.headers)
        assert_problem(answer, 422, "validation_error")


def test_step_names__schema_and_rules__agree() -> None:
    assert get_args(OnboardingStepName) == rules.ONBOARDING_STEPS
