"""``Idempotency-Key`` (keel.kit.idempotency): the rules, the guard over a probe route whose
effect is a job row, and end to end through the real create-project route."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, Request, Response
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from keel.audit.models import AuditLog
from keel.config import Settings
from keel.events.models import EventRecord
from keel.kit import clock, idempotency, jobs
from keel.kit.db import Database
from keel.kit.deps import DbSession, Resources
from keel.kit.errors import Conflict
from keel.kit.idempotency import repository, rules
from keel.kit.idempotency.models import IdempotencyKey
from keel.kit.jobs.models import Job
from keel.kit.routing import api_router
from keel.projects.models import Project
from keel.worker import PERIODIC, job_handlers
from tests.conftest import requires_postgres
from tests.helpers.app import client_for
from tests.helpers.jobs import runner
from tests.helpers.tenancy import make_caller, make_org
from tests.projects.builders import make_workspace

PROBE_JOB = "probe.created"
ITEMS = "/api/v1/probe/items"


class KeptRefusal(Conflict):
    """A refusal whose changes are committed (like a failed login's lock)."""

    keeps_changes = True


@idempotency.guard
async def probe_guard(
    request: Request, db: DbSession, idempotency_key: idempotency.IdempotencyKeyHeader = None
) -> None:
    caller = request.headers["x-caller"]
    await idempotency.begin(request, db, caller=caller, key=idempotency_key)


probe_router = api_router()


@probe_router.post("/probe/items", status_code=201)
async def create_item(
    body: dict[str, Any],
    db: DbSession,
    response: Response,
    guard: Annotated[None, Depends(probe_guard)],
) -> dict[str, Any]:
    """Its effect is a job row; ``fail`` refuses after the effect, ``pause`` holds the
    transaction open so a repeat can race it."""
    job_id = await jobs.enqueue(db, PROBE_JOB, {"name": body.get("name")})
    await asyncio.sleep(float(body.get("pause", 0)))
    if body.get("fail") == "rollback":
        raise Conflict("probe refused")
    if body.get("fail") == "kept":
        raise KeptRefusal("probe refused, changes kept")
    response.headers["Location"] = f"{ITEMS}/{job_id}"
    response.headers["X-Probe"] = "per-request"
    return {"id": str(job_id), "name": body.get("name")}


@pytest.fixture
async def probe(settings: Settings, resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(settings, resources, probe_router) as client:
        yield client


def headers(key: str | None = "k-1", caller: str = "user:alice") -> dict[str, str]:
    sent = {"X-Caller": caller}
    if key is not None:
        sent["Idempotency-Key"] = key
    return sent


async def effects(db: AsyncSession) -> int:
    counted = select(func.count()).select_from(Job).where(Job.name == PROBE_JOB)
    return await db.scalar(counted) or 0


# ---- rules -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("a", True),
        ("550e8400-e29b-41d4-a716-446655440000", True),
        ("with space and ~!@#", True),
        ("x" * 255, True),
        ("", False),
        ("x" * 256, False),
        ("tab\there", False),
        ("newline\n", False),
        ("caf\u00e9", False),
        ("nul\x00", False),
    ],
)
def test_key_is_valid__table(key: str, valid: bool) -> None:
    # When a key is checked, Then only 1-255 printable ASCII characters pass
    assert rules.key_is_valid(key) is valid


def test_fingerprint__json_reordered_or_respaced__same() -> None:
    # Given one JSON document serialized two ways
    compact, spaced = b'{"a":1,"b":[1,2]}', b'{ "b": [1, 2],\n "a": 1 }'
    # Then both have one fingerprint; another value, a query or raw bytes differ
    assert rules.fingerprint(compact) == rules.fingerprint(spaced)
    assert rules.fingerprint(compact) != rules.fingerprint(b'{"a":2,"b":[1,2]}')
    assert rules.fingerprint(compact) != rules.fingerprint(compact, query="dry_run=1")
    assert rules.fingerprint(b"not json") != rules.fingerprint(b"not  json")


def test_scope_of__each_part__changes_the_scope() -> None:
    # Given one scope
    base = {"caller": "user:a", "method": "POST", "path": "/x", "key": "k"}
    scope = rules.scope_of(**base)
    # Then changing any part gives another one, and parts cannot bleed into each other
    for part, other in (("caller", "user:b"), ("method", "PUT"), ("path", "/y"), ("key", "j")):
        assert rules.scope_of(**{**base, part: other}) != scope
    assert rules.scope_of(caller="a", method="POST", path="b/c", key="k") != rules.scope_of(
        caller="a", method="POST", path="b", key="c/k"
    )


# ---- the guard ---------------------------------------------------------------------------------


async def test_repeat__same_key_and_body__first_answer_replayed_one_effect(
    probe: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a create sent with an Idempotency-Key
    first = await probe.post(ITEMS, json={"name": "a"}, headers=headers())
    assert first.status_code == 201, first.text
    # When it is sent again, its JSON re-serialized in another order
    again = await probe.post(
        ITEMS,
        content=b'{ "name" : "a" }',
        headers={**headers(), "Content-Type": "application/json"},
    )
    # Then the first answer comes back, marked replayed, and there was one effect
    assert (again.status_code, again.content) == (201, first.content)
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["content-type"] == "application/json"
    assert "x-probe" not in again.headers
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert await effects(db) == 1


async def test_same_key__other_body__422_idempotency_key_reused(
    probe: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a create sent with a key
    assert (await probe.post(ITEMS, json={"name": "a"}, headers=headers())).status_code == 201
    # When the key comes back with another body
    reused = await probe.post(ITEMS, json={"name": "b"}, headers=headers())
    # Then it is refused as problem JSON and nothing more happened
    assert reused.status_code == 422
    assert reused.headers["content-type"] == "application/problem+json"
    assert reused.json()["code"] == "idempotency_key_reused"
    assert await effects(db) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9"])
async def test_malformed_key__422_validation_error_naming_the_header(
    probe: httpx.AsyncClient, db: AsyncSession, key: str
) -> None:
    # When a create carries a key that is empty, too long or not ASCII
    sent = [(b"X-Caller", b"user:alice"), (b"Idempotency-Key", key.encode())]
    answer = await probe.post(ITEMS, json={"name": "a"}, headers=sent)
    # Then it is a validation error on the header, and nothing was created
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "validation_error"
    assert [e["field"] for e in body["errors"]] == ["header.idempotency-key"]
    assert await effects(db) == 0


async def test_no_key__each_request__its_own_effect(
    probe: httpx.AsyncClient, db: AsyncSession
) -> None:
    # When a create is sent twice without a key
    for _ in range(2):
        answer = await probe.post(ITEMS, json={"name": "a"}, headers=headers(key=None))
        assert answer.status_code == 201
        assert "idempotent-replayed" not in answer.headers
    # Then both happened and no key was stored
    assert await effects(db) == 2
    assert await db.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


@pytest.mark.parametrize("failure", ["rollback", "kept"])
async def test_failed_first_attempt__key_left_free_for_a_retry(
    probe: httpx.AsyncClient, db: AsyncSession, failure: str
) -> None:
    # Given a first attempt that fails (rolled back, or a refusal that commits its trace)
    failed = await probe.post(ITEMS, json={"name": "a", "fail": failure}, headers=headers())
    assert failed.status_code == 409
    # When the client retries with the same key and a corrected body
    retried = await probe.post(ITEMS, json={"name": "a"}, headers=headers())
    # Then the retry runs for real (not 422, not a replay of the failure)
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    kept = 1 if failure == "kept" else 0
    assert await effects(db) == 1 + kept


async def test_other_caller__same_key__independent(
    probe: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given alice used a key
    alice = await probe.post(ITEMS, json={"name": "a"}, headers=headers(caller="user:alice"))
    # When bob sends the same key and body
    bob = await probe.post(ITEMS, json={"name": "a"}, headers=headers(caller="user:bob"))
    # Then bob's request is his own: a new effect, not alice's answer
    assert bob.status_code == 201 and "idempotent-replayed" not in bob.headers
    assert bob.json()["id"] != alice.json()["id"]
    assert await effects(db) == 2


async def test_expired_key__claimed_again(
    probe: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a key whose first answer is older than the TTL (the purge has not run yet)
    first = await probe.post(ITEMS, json={"name": "a"}, headers=headers())
    stored = (await db.scalars(select(IdempotencyKey))).one()
    assert stored.expires_at - stored.created_at == timedelta(hours=settings.idempotency.ttl_hours)
    await db.execute(update(IdempotencyKey).values(expires_at=clock.now() - timedelta(seconds=1)))
    # When the key is sent again, even with another body
    again = await probe.post(ITEMS, json={"name": "b"}, headers=headers())
    # Then it is a new request: a second effect, a new answer, one row for the key
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    assert await effects(db) == 2
    assert await db.scalar(select(func.count()).select_from(IdempotencyKey)) == 1


async def test_claim_without_answer__409_in_progress_with_retry_after(
    probe: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a committed claim whose answer is not stored
    scope = rules.scope_of(caller="user:alice", method="POST", path=ITEMS, key="k-1")
    now = clock.now()
    await repository.claim(
        db,
        scope=scope,
        fingerprint=rules.fingerprint(b'{"name":"a"}'),
        now=now,
        expires_at=now + timedelta(hours=1),
    )
    # When the same request comes
    answer = await probe.post(ITEMS, json={"name": "a"}, headers=headers())
    # Then it is told to come back for the answer, and nothing happened
    assert answer.status_code == 409
    assert answer.json()["code"] == "idempotency_key_in_progress"
    assert int(answer.headers["retry-after"]) >= 1
    assert await effects(db) == 0


async def test_stored_answer__encrypted_at_rest(probe: httpx.AsyncClient, db: AsyncSession) -> None:
    # When a create's answer (which may hold a one-time secret) is stored
    first = await probe.post(ITEMS, json={"name": "secret-ish"}, headers=headers())
    # Then the row keeps no plaintext of it, nor the raw key
    stored = (await db.scalars(select(IdempotencyKey))).one()
    assert stored.response_body is not None and stored.status_code == 201
    assert b"secret-ish" not in stored.response_body
    assert first.json()["id"].encode() not in stored.response_body
    assert "k-1" not in stored.scope


async def test_concurrent_repeats__one_effect_all_same_answer(
    settings: Settings, committed_resources: Resources
) -> None:
    # Given a create that holds its transaction open for a moment
    payload = {"name": "race", "pause": 0.3}
    async with client_for(settings, committed_resources, probe_router) as client:
        # When the same request is sent three times at once
        answers = await asyncio.gather(
            *(client.post(ITEMS, json=payload, headers=headers()) for _ in range(3))
        )
    # Then the repeats waited for the first and got its answer; one effect happened
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.content for a in answers}) == 1
    assert sorted(a.headers.get("idempotent-replayed", "") for a in answers) == ["", "true", "true"]
    async with committed_resources.database.transaction() as db:
        assert await effects(db) == 1


async def test_purge_job__expired_deleted_live_kept(
    database: Database, resources: Resources
) -> None:
    # Given one expired and one live key, and the purge job queued
    now = clock.now()
    async with database.transaction() as db:
        for scope, expires_at in (
            ("old", now - timedelta(minutes=1)),
            ("new", now + timedelta(hours=1)),
        ):
            await repository.claim(
                db, scope=scope, fingerprint="f", now=now - timedelta(days=1), expires_at=expires_at
            )
        await jobs.enqueue(db, idempotency.PURGE_JOB, {})
    # When the worker runs it
    await runner(resources, job_handlers()).run_once()
    # Then only the live key is left, and the job runs hourly
    async with database.transaction() as db:
        assert list(await db.scalars(select(IdempotencyKey.scope))) == ["new"]
    assert any(p.name == idempotency.PURGE_JOB for p in PERIODIC)


# ---- end to end through a real create route ----------------------------------------------------


async def test_create_project__repeated_with_key__one_project_same_answer(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an organization's admin
    ws = await make_workspace(db, settings)
    url = f"/api/v1/orgs/{ws.org.id}/projects"
    sent = {**ws.admin.headers, "Idempotency-Key": str(uuid.uuid4())}
    # When they create a project twice with one key
    first = await client.post(url, json={"name": "Apollo"}, headers=sent)
    again = await client.post(url, json={"name": "Apollo"}, headers=sent)
    # Then both answers are equal and there is one project, one audit entry, one event
    assert first.status_code == 201, first.text
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    await ws.access(db, ws.admin)
    names = list(await db.scalars(select(Project.name).where(Project.organization_id == ws.org.id)))
    assert names.count("Apollo") == 1
    for table, column in ((EventRecord, EventRecord.name), (AuditLog, AuditLog.action)):
        counted = select(func.count()).select_from(table).where(column == "project.created")
        assert await db.scalar(counted.where(table.organization_id == ws.org.id)) == 1


async def test_create_project__same_key_other_member__two_projects(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given two members of one organization who pick the same key
    ws = await make_workspace(db, settings)
    url = f"/api/v1/orgs/{ws.org.id}/projects"
    key = {"Idempotency-Key": "shared-key"}
    # When each creates a project with it
    mine = await client.post(url, json={"name": "P"}, headers={**ws.admin.headers, **key})
    theirs = await client.post(url, json={"name": "P"}, headers={**ws.manager.headers, **key})
    # Then each got their own project
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert "idempotent-replayed" not in theirs.headers


async def test_create_project__refused_caller__claims_no_key(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a member who may not create projects (a guest) and a key
    ws = await make_workspace(db, settings)
    url = f"/api/v1/orgs/{ws.org.id}/projects"
    sent = {**ws.guest.headers, "Idempotency-Key": "k"}
    # When they try twice
    answers = [await client.post(url, json={"name": "P"}, headers=sent) for _ in range(2)]
    # Then both are refused on their own merits and no key was kept
    assert [a.status_code for a in answers] == [403, 403]
    assert await db.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


async def test_api_key__repeated_create__one_project_and_its_creator_keys_apart(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an admin and an API key they made (its answer replayable with the secret)
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user, plan="starter")
    sent = {**admin.headers, "Idempotency-Key": "make-key"}
    body = {"name": "CI", "permissions": ["projects:write"]}
    made = await client.post(f"/api/v1/orgs/{org.id}/api-keys", json=body, headers=sent)
    again = await client.post(f"/api/v1/orgs/{org.id}/api-keys", json=body, headers=sent)
    assert made.status_code == 201, made.text
    assert again.json()["secret"] == made.json()["secret"]
    key = {"Authorization": f"Bearer {made.json()['secret']}", "Idempotency-Key": "k"}
    url = f"/api/v1/orgs/{org.id}/projects"
    # When the key creates a project twice, then its creator sends the same Idempotency-Key
    first = await client.post(url, json={"name": "By key"}, headers=key)
    repeat = await client.post(url, json={"name": "By key"}, headers=key)
    by_admin = await client.post(
        url, json={"name": "By key"}, headers={**admin.headers, "Idempotency-Key": "k"}
    )
    # Then the key's repeat is a replay, and the admin's request is a project of its own
    assert (first.status_code, repeat.json()) == (201, first.json())
    assert repeat.headers["idempotent-replayed"] == "true"
    assert by_admin.status_code == 201 and by_admin.json()["id"] != first.json()["id"]
    assert "idempotent-replayed" not in by_admin.headers


@requires_postgres
async def test_create_project__concurrent_pair_on_postgres__one_project(
    settings: Settings, committed_resources: Resources
) -> None:
    # Given a committed organization and its admin
    async with committed_resources.database.transaction() as db:
        admin = await make_caller(db, settings)
        org = await make_org(db, admin.user)
    url = f"/api/v1/orgs/{org.id}/projects"
    sent = {**admin.headers, "Idempotency-Key": "pair"}
    # When two identical creates race
    async with client_for(settings, committed_resources) as client:
        pair = await asyncio.gather(
            *(client.post(url, json={"name": "Twin"}, headers=sent) for _ in range(2))
        )
    # Then both answer the same project and only one exists
    assert [a.status_code for a in pair] == [201, 201], [a.text for a in pair]
    assert pair[0].json() == pair[1].json()
    async with client_for(settings, committed_resources) as client:
        listed = await client.get(url, headers=admin.headers)
    assert [p["name"] for p in listed.json()["items"]] == ["Twin"]


def test_openapi__create_routes__document_the_optional_header(app: Any) -> None:
    # Given the OpenAPI document
    operation = app.openapi()["paths"]["/api/v1/orgs/{org_id}/projects"]["post"]
    # Then Idempotency-Key is an optional header parameter of a create
    [param] = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
    assert (param["in"], param.get("required", False)) == ("header", False)
    [string] = [branch for branch in param["schema"]["anyOf"] if branch["type"] == "string"]
    assert (string["minLength"], string["maxLength"]) == (1, rules.KEY_MAX_LENGTH)
