"""``/api/v1/orgs/{org_id}/audit-logs`` and its ``/export``: admins of organizations whose
plan has the audit log read it, filtered and paged, or download it streamed as CSV or JSON
lines; the export is itself audited."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.config import Settings
from keel.kit import clock
from keel.organizations.models import Organization
from tests.audit.builders import at, entries_of, record_many
from tests.helpers.tenancy import Caller, add_member, make_caller, make_org
from tests.kit.test_http import assert_problem


def url(org_id: object, suffix: str = "") -> str:
    return f"/api/v1/orgs/{org_id}/audit-logs{suffix}"


async def admin_org(
    db: AsyncSession, settings: Settings, *, plan: str = "professional", **user: str
) -> tuple[Caller, Organization]:
    admin = await make_caller(db, settings, **user)
    return admin, await make_org(db, admin.user, plan=plan)


async def test_list__admin_on_professional__newest_first_with_actor_details(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an admin (named) whose organization recorded an update after its creation
    admin, org = await admin_org(db, settings, email="ada@example.com", name="Ada")
    await audit_service.record(
        db,
        Actor(kind="user", id=str(admin.user.id), ip="198.51.100.7", request_id="r-9"),
        "project.updated",
        target=Target("project", "p-1", org.id),
        changes={"name": {"before": "A", "after": "B"}},
    )
    # When the admin lists the audit log
    response = await client.get(url(org.id), headers=admin.headers)
    # Then the newest entry comes first, with who (email, name), what, where and its seq
    assert response.status_code == 200, response.text
    body = response.json()
    first = body["items"][0]
    assert first["action"] == "project.updated"
    assert first["actor"] == {
        "kind": "user",
        "id": str(admin.user.id),
        "user_id": str(admin.user.id),
        "email": "ada@example.com",
        "name": "Ada",
    }
    assert first["target"] == {"type": "project", "id": "p-1"}
    assert first["changes"] == {"name": {"before": "A", "after": "B"}}
    assert (first["ip"], first["request_id"]) == ("198.51.100.7", "r-9")
    seqs = [item["seq"] for item in body["items"]]
    assert seqs == sorted(seqs, reverse=True) and body["next_cursor"] is None
    assert "organization.created" in {item["action"] for item in body["items"]}


async def test_list__filters__only_matching_entries(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given entries by two actors, of several actions and targets, some a month old
    admin, org = await admin_org(db, settings)
    other = Actor(kind="api_key", id="key-1", organization_id=org.id)
    await record_many(db, org.id, 2, action="member.invited")
    await record_many(db, org.id, 1, action="member.removed", by=other)
    with at(monkeypatch, clock.now() - timedelta(days=30)):
        await record_many(db, org.id, 1, action="members.exported")
    week_ago = (clock.now() - timedelta(days=7)).isoformat()

    async def actions(**params: str) -> list[str]:
        response = await client.get(url(org.id), params=params, headers=admin.headers)
        assert response.status_code == 200, response.text
        return [item["action"] for item in response.json()["items"]]

    # Then each filter narrows the list
    assert await actions(action="member.invited") == ["member.invited"] * 2
    assert await actions(action="member.*") == [
        "member.removed",
        "member.invited",
        "member.invited",
    ]
    assert await actions(actor="key-1") == ["member.removed"]
    assert await actions(target_type="project", target_id="p-0", action="member.*") == [
        "member.removed",
        "member.invited",
    ]
    assert await actions(until=week_ago) == ["members.exported"]
    assert "members.exported" not in await actions(since=week_ago)


async def test_list__pages__every_entry_once_via_next_cursor(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given 25 entries beyond the organization's own
    admin, org = await admin_org(db, settings)
    await record_many(db, org.id, 25)
    total = len(await entries_of(db, org.id))
    # When the log is read 10 at a time
    seen: list[int] = []
    cursor: str | None = None
    while True:
        params = {"limit": "10", **({"cursor": cursor} if cursor else {})}
        body = (await client.get(url(org.id), params=params, headers=admin.headers)).json()
        seen += [item["seq"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    # Then every entry came exactly once, newest first
    assert seen == list(range(total, 0, -1))


async def test_list__free_plan__402_feature_not_in_plan_with_upgrade(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin, org = await admin_org(db, settings, plan="free")
    for path in ("", "/export"):
        body = assert_problem(
            await client.get(url(org.id, path), headers=admin.headers), 402, "feature_not_in_plan"
        )
        assert body["upgrade_to"] == "professional"


async def test_list__anonymous_401_member_403_other_tenant_404(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an organization, a plain member, and another tenant's admin
    _, org = await admin_org(db, settings)
    member = await make_caller(db, settings)
    await add_member(db, org, member.user, role="member")
    stranger, _ = await admin_org(db, settings)
    for path in ("", "/export"):
        # Then no token 401; a member 403; another tenant 404
        assert (await client.get(url(org.id, path))).status_code == 401
        assert_problem(
            await client.get(url(org.id, path), headers=member.headers), 403, "permission_denied"
        )
        assert_problem(
            await client.get(url(org.id, path), headers=stranger.headers), 404, "not_found"
        )


@pytest.mark.parametrize(
    "params",
    [
        {"since": "2026-01-01T00:00:00"},  # no offset: ambiguous
        {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"action": "DROP TABLE"},
        {"cursor": "not-a-cursor"},
        {"cursor": "WzBd"},  # [0]
        {"limit": "0"},
        {"limit": "101"},
        {"actor": "x" * 65},
    ],
)
async def test_list__bad_query__422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, params: dict[str, str]
) -> None:
    admin, org = await admin_org(db, settings)
    response = await client.get(url(org.id), params=params, headers=admin.headers)
    assert_problem(response, 422, "validation_error")


async def test_export__csv__attachment_with_header_neutralized_and_audited(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an entry whose target id and user agent start like spreadsheet formulas
    admin, org = await admin_org(db, settings)
    sneaky = Actor(kind="user", id=str(admin.user.id), user_agent="@SUM(1+1)")
    await audit_service.record(
        db, sneaky, "project.renamed", target=Target("project", "=cmd|'/c calc'!A1", org.id)
    )
    # When the admin exports the log as CSV
    response = await client.get(
        url(org.id, "/export"), params={"format": "csv"}, headers=admin.headers
    )
    # Then it is an attachment whose rows neutralize the formulas
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=") and disposition.endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    renamed = next(row for row in rows if row["action"] == "project.renamed")
    assert renamed["target_id"] == "'=cmd|'/c calc'!A1"
    assert renamed["user_agent"] == "'@SUM(1+1)"
    assert renamed["actor_email"] == admin.user.email
    # And the export itself was audited
    exported = [e for e in await entries_of(db, org.id) if e.action == "audit_log.exported"]
    assert len(exported) == 1 and exported[0].context == {"format": "csv", "filters": {}}


async def test_export__jsonl_thousands_of_rows_in_small_batches__every_row_once_in_order(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 2,500 entries and an export that reads 100 rows per query
    admin, org = await admin_org(db, settings)
    await record_many(db, org.id, 2500, action="document.viewed")
    monkeypatch.setattr(settings.audit, "export_batch_rows", 100)
    # When the admin exports the document.viewed entries as JSON lines
    seqs: list[int] = []
    params = {"format": "jsonl", "action": "document.viewed"}
    async with client.stream(
        "GET", url(org.id, "/export"), params=params, headers=admin.headers
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        async for line in response.aiter_lines():
            if line:
                seqs.append(json.loads(line)["seq"])
    # Then every entry came once, newest first
    assert len(seqs) == 2500
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 2500


async def test_export__bad_format__422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin, org = await admin_org(db, settings)
    response = await client.get(
        url(org.id, "/export"), params={"format": "xlsx"}, headers=admin.headers
    )
    assert_problem(response, 422, "validation_error")
    assert not [e for e in await entries_of(db, org.id) if e.action == "audit_log.exported"]
