"""``/api/v1/orgs/{org_id}/webhooks``, its delivery log, ``/integrations/slack`` and the event
catalog, through the HTTP API (the cross-tenant matrix in tests/architecture covers 404s)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.audit.models import AuditLog
from keel.config import Settings
from keel.events.models import EventRecord
from keel.kit.deps import Resources
from tests.helpers.tenancy import add_member, make_caller, make_org
from tests.webhooks.builders import Tenant, deliveries, run_jobs
from tests.webhooks.receiver import Reply, receiving, verified


async def create(client: httpx.AsyncClient, tenant: Tenant, **body: object) -> httpx.Response:
    body.setdefault("event_types", ["project.created"])
    return await client.post(tenant.url(), json=body, headers=tenant.admin.headers)


async def test_create__valid__201_secret_shown_once_audited_and_published(
    hook_client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant
) -> None:
    with receiving() as receiver:
        # When an admin creates an endpoint
        response = await create(hook_client, tenant, url=receiver.url, description="CRM")
    # Then the answer carries a whsec_ secret
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["secret"].startswith("whsec_")
    assert created["event_types"] == ["project.created"]
    # And reading it again never shows the secret
    read = await hook_client.get(tenant.url(f"/{created['id']}"), headers=tenant.admin.headers)
    assert read.status_code == 200 and "secret" not in read.json()
    listed = await hook_client.get(tenant.url(), headers=tenant.admin.headers)
    assert [w["id"] for w in listed.json()["items"]] == [created["id"]]
    assert "secret" not in listed.json()["items"][0]
    # And it was audited and published
    audit = await db.scalar(select(AuditLog).where(AuditLog.target_id == created["id"]))
    assert audit is not None and audit.action == "webhook_endpoint.created"
    event = await db.scalar(
        select(EventRecord).where(EventRecord.name == "webhook_endpoint.created")
    )
    assert event is not None and event.payload["endpoint_id"] == created["id"]


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://127.0.0.1/hook", "loopback"),
        ("http://10.0.0.1/hook", "private"),
        ("http://169.254.169.254/latest/meta-data", "cloud metadata"),
        ("http://0x7f000001/hook", "loopback"),
        ("http://localhost/hook", "loopback"),
        ("ftp://example.com/hook", "http"),
    ],
)
async def test_create__forbidden_url__422_webhook_url_forbidden_naming_the_class(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, url: str, words: str
) -> None:
    # Given an admin, on a server with the default settings (loopback refused)
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    # When they point an endpoint at an internal address
    response = await client.post(
        f"/api/v1/orgs/{org.id}/webhooks", json={"url": url}, headers=admin.headers
    )
    # Then a clear problem: the code, the address class, the field
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "webhook_url_forbidden"
    assert words in problem["detail"]
    assert problem["errors"][0]["field"] == "body.url"


async def test_create__unknown_event_type__422_naming_the_field(
    hook_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await create(
        hook_client, tenant, url="http://127.0.0.1:9/", event_types=["project.created", "nope.done"]
    )
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_event_type"
    assert response.json()["errors"] == [
        {"field": "body.event_types.1", "message": "unknown event 'nope.done'"}
    ]


async def test_create__unknown_field__422(hook_client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await create(hook_client, tenant, url="http://127.0.0.1:9/", secret="mine")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_routes__anonymous__401(hook_client: httpx.AsyncClient, tenant: Tenant) -> None:
    for method, url in (("GET", tenant.url()), ("GET", "/api/v1/webhooks/event-types")):
        assert (await hook_client.request(method, url)).status_code == 401


async def test_routes__plain_member__403(
    hook_client: httpx.AsyncClient, db: AsyncSession, settings: Settings, tenant: Tenant
) -> None:
    # Given a member who is not an admin
    member = await make_caller(db, settings)
    await add_member(db, tenant.org, member.user, role="member")
    # Then they may neither read nor manage webhooks
    assert (await hook_client.get(tenant.url(), headers=member.headers)).status_code == 403
    response = await hook_client.post(
        tenant.url(), json={"url": "http://127.0.0.1:9/"}, headers=member.headers
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


async def test_update__url_to_private__422_and_unchanged(
    hook_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # Given an endpoint
    created = (await create(hook_client, tenant, url="http://127.0.0.1:9/hook")).json()
    # When its URL is changed to a private address
    response = await hook_client.patch(
        tenant.url(f"/{created['id']}"),
        json={"url": "http://192.168.0.5/"},
        headers=tenant.admin.headers,
    )
    # Then the guard refuses it, and it keeps its URL
    assert response.status_code == 422 and response.json()["code"] == "webhook_url_forbidden"
    read = await hook_client.get(tenant.url(f"/{created['id']}"), headers=tenant.admin.headers)
    assert read.json()["url"] == "http://127.0.0.1:9/hook"


async def test_update__disable_then_enable__reason_set_then_cleared(
    hook_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = (await create(hook_client, tenant, url="http://127.0.0.1:9/")).json()
    url = tenant.url(f"/{created['id']}")
    off = await hook_client.patch(url, json={"enabled": False}, headers=tenant.admin.headers)
    assert (off.json()["enabled"], off.json()["disabled_reason"]) == (False, "manual")
    on = await hook_client.patch(url, json={"enabled": True}, headers=tenant.admin.headers)
    assert (on.json()["enabled"], on.json()["disabled_reason"]) == (True, None)
    bad = await hook_client.patch(url, json={"enabled": None}, headers=tenant.admin.headers)
    assert bad.status_code == 422


async def test_delete__existing__204_then_404(
    hook_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = (await create(hook_client, tenant, url="http://127.0.0.1:9/")).json()
    url = tenant.url(f"/{created['id']}")
    assert (await hook_client.delete(url, headers=tenant.admin.headers)).status_code == 204
    gone = await hook_client.get(url, headers=tenant.admin.headers)
    assert gone.status_code == 404 and gone.json()["code"] == "not_found"


async def test_test_ping__receiver_up__attempt_result_signed_logged_and_audited(
    hook_client: httpx.AsyncClient, db: AsyncSession, tenant: Tenant
) -> None:
    with receiving() as receiver:
        # Given an endpoint
        created = (await create(hook_client, tenant, url=receiver.url)).json()
        # When the admin sends a test ping
        response = await hook_client.post(
            tenant.url(f"/{created['id']}/test"), headers=tenant.admin.headers
        )
    # Then the answer is the attempt, and the receiver got a signed webhook.test
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["succeeded"], result["response_status"]) == (True, 200)
    [request] = receiver.received
    assert verified(created["secret"], request)["type"] == "webhook.test"
    assert request.headers["webhook-id"] == result["webhook_id"]
    # And it is in the delivery log with its attempt
    log = await hook_client.get(
        tenant.url(f"/{created['id']}/deliveries"), headers=tenant.admin.headers
    )
    [delivery] = log.json()["items"]
    assert (delivery["status"], delivery["event_type"]) == ("succeeded", "webhook.test")
    tries = await hook_client.get(
        tenant.url(f"/{created['id']}/deliveries/{delivery['id']}/attempts"),
        headers=tenant.admin.headers,
    )
    assert [(a["number"], a["response_status"]) for a in tries.json()] == [(1, 200)]
    # And the admin's test is in the audit log
    tested = await db.scalar(select(AuditLog).where(AuditLog.action == "webhook_endpoint.tested"))
    assert tested is not None and tested.target_id == created["id"]


async def test_test_ping__receiver_down__failure_answered_not_raised(
    hook_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    with receiving() as receiver:
        url = receiver.url
    created = (await create(hook_client, tenant, url=url)).json()
    response = await hook_client.post(
        tenant.url(f"/{created['id']}/test"), headers=tenant.admin.headers
    )
    assert response.status_code == 200
    assert response.json()["succeeded"] is False
    assert response.json()["error"]


async def test_rotate_secret__answer__new_secret_once_both_sign(
    hook_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    with receiving() as receiver:
        created = (await create(hook_client, tenant, url=receiver.url)).json()
        rotated = await hook_client.post(
            tenant.url(f"/{created['id']}/rotate-secret"), headers=tenant.admin.headers
        )
        assert rotated.status_code == 200
        await hook_client.post(tenant.url(f"/{created['id']}/test"), headers=tenant.admin.headers)
    [request] = receiver.received
    assert verified(created["secret"], request) == verified(rotated.json()["secret"], request)


async def test_delivery_log__filters_and_cursor__pages_newest_first(
    hook_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    with receiving(Reply(200), Reply(500), Reply(200)) as receiver:
        created = (await create(hook_client, tenant, url=receiver.url)).json()
        for _ in range(3):
            await hook_client.post(
                tenant.url(f"/{created['id']}/test"), headers=tenant.admin.headers
            )
    base = tenant.url(f"/{created['id']}/deliveries")
    headers = tenant.admin.headers
    first = (await hook_client.get(base, params={"limit": 2}, headers=headers)).json()
    second = (
        await hook_client.get(
            base, params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers
        )
    ).json()
    assert len(first["items"]) == 2 and len(second["items"]) == 1 and second["next_cursor"] is None
    failed = (await hook_client.get(base, params={"status": "failed"}, headers=headers)).json()
    assert [d["status"] for d in failed["items"]] == ["failed"]
    none = (
        await hook_client.get(base, params={"event_type": "member.joined"}, headers=headers)
    ).json()
    assert none["items"] == []
    bad = await hook_client.get(base, params={"status": "lost"}, headers=headers)
    assert bad.status_code == 422


async def test_redeliver__failed_delivery__sent_again_same_webhook_id(
    hook_client: httpx.AsyncClient, db: AsyncSession, hook_resources: Resources, tenant: Tenant
) -> None:
    with receiving(Reply(500), Reply(200)) as receiver:
        # Given a failed test delivery
        created = (await create(hook_client, tenant, url=receiver.url)).json()
        ping = await hook_client.post(
            tenant.url(f"/{created['id']}/test"), headers=tenant.admin.headers
        )
        delivery_id = ping.json()["delivery_id"]
        # When it is redelivered and the worker runs
        response = await hook_client.post(
            tenant.url(f"/{created['id']}/deliveries/{delivery_id}/redeliver"),
            headers=tenant.admin.headers,
        )
        assert response.status_code == 202
        await run_jobs(hook_resources)
    # Then it was sent again with the same webhook-id and succeeded
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    [delivery] = [
        d for d in await deliveries(db, uuid.UUID(created["id"])) if str(d.id) == delivery_id
    ]
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)


async def test_event_types__authenticated__catalog_with_names(
    hook_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await hook_client.get("/api/v1/webhooks/event-types", headers=tenant.admin.headers)
    assert response.status_code == 200
    names = [t["name"] for t in response.json()]
    assert "project.created" in names and "webhook_endpoint.disabled" in names
    assert names == sorted(names)


# ---- Slack --------------------------------------------------------------------------------------


def slack_url(tenant: Tenant) -> str:
    return f"/api/v1/orgs/{tenant.org.id}/integrations/slack"


async def test_slack__put_then_event__posted_as_text(
    hook_client: httpx.AsyncClient, hook_resources: Resources, db: AsyncSession, tenant: Tenant
) -> None:
    with receiving() as receiver:
        # Given a Slack integration for project.created
        put = await hook_client.put(
            slack_url(tenant),
            json={"url": receiver.url, "event_types": ["project.created"]},
            headers=tenant.admin.headers,
        )
        assert put.status_code == 200, put.text
        assert put.json()["url_host"] == f"127.0.0.1:{receiver.port}"
        # When a project is created through the API and the worker runs
        made = await hook_client.post(
            f"/api/v1/orgs/{tenant.org.id}/projects",
            json={"name": "Apollo"},
            headers=tenant.admin.headers,
        )
        assert made.status_code == 201
        await run_jobs(hook_resources)
    # Then Slack got a {"text"} message naming the event, unsigned
    [request] = receiver.received
    body = httpx.Response(200, content=request.body).json()
    assert body["text"].startswith("*project.created*")
    assert "webhook-signature" not in request.headers


async def test_slack__http_url__422_https_required(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    response = await client.put(
        f"/api/v1/orgs/{org.id}/integrations/slack",
        json={"url": "http://hooks.slack.com/services/T/B/X"},
        headers=admin.headers,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "webhook_url_forbidden"
    assert "https" in response.json()["detail"]


async def test_slack__lifecycle__get_404_put_get_test_delete(
    hook_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = tenant.admin.headers
    assert (await hook_client.get(slack_url(tenant), headers=headers)).status_code == 404
    with receiving() as receiver:
        await hook_client.put(slack_url(tenant), json={"url": receiver.url}, headers=headers)
        again = await hook_client.put(
            slack_url(tenant),
            json={"url": receiver.url, "event_types": ["member.joined"]},
            headers=headers,
        )
        assert again.json()["event_types"] == ["member.joined"]
        tested = await hook_client.post(slack_url(tenant) + "/test", headers=headers)
    assert tested.json()["succeeded"] is True
    assert "text" in httpx.Response(200, content=receiver.received[0].body).json()
    assert (await hook_client.get(slack_url(tenant), headers=headers)).status_code == 200
    assert (await hook_client.delete(slack_url(tenant), headers=headers)).status_code == 204
    assert (await hook_client.get(slack_url(tenant), headers=headers)).status_code == 404
    # And webhooks never list the Slack integration
    assert (await hook_client.get(tenant.url(), headers=headers)).json()["items"] == []
