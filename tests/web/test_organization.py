"""The organization admin pages, second part: plan and usage, the audit log (filters, paging,
exports, the plan gate) and webhooks (create with the secret shown once, the SSRF refusal,
edit, disable, rotate, delete, test ping, delivery log, redelivery), with their guards."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor, OrgAccess
from keel.audit import service as audit_service
from keel.audit.models import AuditLog
from keel.audit.schemas import Target
from keel.config import Settings
from keel.events.models import EventRecord
from keel.kit import clock, tenancy
from keel.kit.broadcast import Broadcast
from keel.kit.cache import Cache
from keel.kit.db import Database
from keel.kit.deps import Resources
from keel.organizations.models import Organization
from keel.plans import service as plans_service
from keel.projects import service as projects_service
from keel.projects.schemas import ProjectCreate
from keel.users.models import User
from keel.web.service import organization as admin
from keel.webhooks import service as webhooks_service
from keel.webhooks.models import FAILED, PENDING, SUCCEEDED, WebhookDelivery, WebhookEndpoint
from keel.webhooks.schemas import WebhookCreate
from tests.helpers.app import client_for
from tests.helpers.tenancy import access_for, add_member, make_org, make_user
from tests.web.helpers import HTML, admin_signed_in, csrf_of, log_in, text_at
from tests.webhooks.builders import seed_log_delivery, seed_message
from tests.webhooks.receiver import Reply, receiving

FORM = "application/x-www-form-urlencoded"
SECRET = re.compile(r'value="(whsec_[^"]+)"')


@dataclass(frozen=True)
class Admin:
    user: User
    org: Organization

    def url(self, path: str) -> str:
        return f"/app/{self.org.id}{path}"


async def signed_in_admin(
    browser: httpx.AsyncClient, db: AsyncSession, *, plan: str | None = None
) -> Admin:
    """An organization (on ``plan``) whose admin is signed in in ``browser``."""
    return Admin(*await admin_signed_in(browser, db, plan=plan))


async def post_form(
    browser: httpx.AsyncClient, page: str, action: str, data: list[tuple[str, str]] | None = None
) -> httpx.Response:
    """POST ``data`` (a name may repeat, as a checkbox group's does) with ``page``'s token."""
    token = csrf_of((await browser.get(page)).text)
    body = urlencode([("csrf_token", token), *(data or [])])
    return await browser.post(action, content=body, headers={"content-type": FORM})


async def tenant_access(db: AsyncSession, who: Admin) -> OrgAccess:
    return await access_for(db, who.user, who.org)


# ---- plan and usage -------------------------------------------------------------------------


async def test_plan__usage__numbers_match_the_service_with_a_warning_at_the_limit(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a free organization with 3 projects (its limit) and one member
    who = await signed_in_admin(browser, db)
    org = await tenant_access(db, who)
    for n in range(3):
        await projects_service.create_project(db, org, ProjectCreate(name=f"Project {n}"))
    usage = (await plans_service.organization_plan(db, org)).usage
    # When the admin opens the plan page
    response = await browser.get(who.url("/plan"))
    # Then it shows the plan and each limit as the service counts it
    assert response.status_code == 200, response.text
    html = response.text
    assert text_at(html, "current-plan-name") == "Free"
    projects, users = usage["max_projects"], usage["max_users"]
    assert (
        text_at(html, "usage-max-projects-text") == f"{projects.used} of {projects.limit} projects"
    )
    assert text_at(html, "usage-max-users-text") == f"{users.used} of {users.limit} users"
    assert projects.used == 3
    # And the full limit carries a worded badge and a meter, the others none
    block = html.split('data-testid="usage-max-projects"')[1].split('class="usage"')[0]
    assert "Limit reached" in block and "<meter" in block
    assert "Limit reached" not in html.split('data-testid="usage-max-users"')[1].split("</div>")[0]
    assert 'aria-current="page"' in html and 'data-testid="nav-plan" aria-current="page"' in html


async def test_plan__comparison__every_public_plan_and_a_request_not_a_change(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    who = await signed_in_admin(browser, db)
    html = (await browser.get(who.url("/plan"))).text
    assert 'id="upgrade"' in html  # the upgrade prompt's "Upgrade now" lands here (#upgrade)
    for plan in await plans_service.public_plans(db):
        assert f'data-testid="plan-option-{plan.key}"' in html
    # Plans are changed by the platform owner only: no form posts a plan change
    assert 'action="/app/' + str(who.org.id) + '/plan"' not in html
    assert text_at(html, "request-plan-professional") is not None


@pytest.mark.parametrize(
    ("usage", "text", "level"),
    [
        (admin.Usage("max_projects", "projects", 3, 3, 100.0), "3 of 3 projects", "full"),
        (admin.Usage("max_users", "users", 4, 5, 80.0), "4 of 5 users", "near"),
        (admin.Usage("max_users", "users", 3, 5, 60.0), "3 of 5 users", None),
        (
            admin.Usage("max_projects", "projects", 1, -1, None),
            "Unlimited projects (1 in use)",
            None,
        ),
        (
            admin.Usage("max_storage_gb", "GiB of storage", 2e-6, 1, 0.0),
            "less than 0.01 of 1 GiB of storage",
            None,
        ),
        (
            admin.Usage("max_storage_gb", "GiB of storage", 1.5, 20, 7.5),
            "1.50 of 20 GiB of storage",
            None,
        ),
    ],
)
def test_usage__text_and_warning_level(usage: admin.Usage, text: str, level: str | None) -> None:
    assert (usage.text, usage.level) == (text, level)


def test_plan_request_url__support_address__mailto_with_the_organization_and_plan() -> None:
    url = admin.plan_request_url("sales@keel.test", organization="Acme & Co", plan="Starter")
    assert url is not None and url.startswith("mailto:sales@keel.test?subject=")
    assert "Acme%20%26%20Co" in url and "Starter" in url
    assert admin.plan_request_url(None, organization="Acme", plan="Starter") is None


async def test_plan__member_without_billing_read__403_page(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await make_org(db, await make_user(db))
    member = await make_user(db)
    await add_member(db, org, member, role="manager")
    await log_in(browser, member.email)
    response = await browser.get(f"/app/{org.id}/plan")
    assert response.status_code == 403
    assert "billing:read" in response.text and 'data-testid="problem"' in response.text


# ---- audit log ------------------------------------------------------------------------------


async def record(
    db: AsyncSession,
    org: OrgAccess,
    action: str,
    *,
    target_id: str = "p1",
    changes: dict[str, Any] | None = None,
) -> None:
    """An entry of the organization, written the one way entries are written."""
    target = Target("project", target_id, org.org_id)
    await audit_service.record(db, org.actor, action, target=target, changes=changes)


async def test_audit_log__free_plan__402_page_with_the_upgrade_prompt(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    who = await signed_in_admin(browser, db)
    for path in ("/audit-log", "/audit-log/export?format=csv"):
        response = await browser.get(who.url(path))
        assert response.status_code == 402
        assert 'data-testid="upgrade-modal"' in response.text
        assert f'href="/app/{who.org.id}/plan#upgrade" data-testid="upgrade-now"' in response.text


async def test_audit_log__action_prefix_filter__narrows_the_rows(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given an organization on a plan with the audit log, and entries of two kinds
    who = await signed_in_admin(browser, db, plan="professional")
    org = await tenant_access(db, who)
    await record(db, org, "widget.created", target_id="w1")
    await record(db, org, "widget.deleted", target_id="w1")
    await record(db, org, "gadget.created", target_id="g1")
    # When the admin filters by an action prefix, then by a target
    everything = (await browser.get(who.url("/audit-log"))).text
    widgets = (await browser.get(who.url("/audit-log?action=widget.*"))).text
    gadget = (await browser.get(who.url("/audit-log?target_type=project&target_id=g1"))).text
    # Then only the matching rows are listed
    assert {"widget.created", "widget.deleted", "gadget.created"} <= set(actions(everything))
    assert actions(widgets) == ["widget.deleted", "widget.created"]
    assert actions(gadget) == ["gadget.created"]
    # And the filter stays in the form and in the export links
    assert 'value="widget.*"' in widgets
    assert "format=csv&amp;action=widget.%2A" in widgets


def actions(html: str) -> list[str]:
    return re.findall(r'data-testid="audit-action">([^<]+)<', html)


async def test_audit_log__actor_and_dates__narrow_and_a_bad_range_is_422_inline(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given entries of the admin and of a robot
    who = await signed_in_admin(browser, db, plan="professional")
    org = await tenant_access(db, who)
    await record(db, org, "widget.made")
    robot = Actor(kind="system", id="robot")
    await audit_service.record(db, robot, "widget.made", organization_id=who.org.id)
    today = clock.now().date()
    # When the admin filters by the robot, then by days
    by_robot = (await browser.get(who.url("/audit-log?actor=robot"))).text
    # Then each filter narrows the rows
    assert actions(by_robot) == ["widget.made"]
    tomorrow = (await browser.get(who.url(f"/audit-log?since={today + timedelta(days=1)}"))).text
    assert actions(tomorrow) == []
    today_only = (await browser.get(who.url(f"/audit-log?since={today}&until={today}"))).text
    assert "widget.made" in actions(today_only)
    # And a range ending before it starts, or a malformed action, is refused on the form
    refused = await browser.get(who.url(f"/audit-log?since={today}&until={today - timedelta(1)}"))
    assert refused.status_code == 422
    assert 'id="since-error"' in refused.text
    bad = await browser.get(who.url("/audit-log?action=DROP TABLE"))
    assert bad.status_code == 422 and 'id="action-error"' in bad.text


async def test_audit_log__more_than_a_page__cursor_to_the_rest(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    who = await signed_in_admin(browser, db, plan="professional")
    org = await tenant_access(db, who)
    for n in range(admin.PAGE_SIZE + 3):
        await record(db, org, f"widget.step_{n}", target_id=f"w{n}")
    first = (await browser.get(who.url("/audit-log?action=widget.*"))).text
    assert len(actions(first)) == admin.PAGE_SIZE
    assert actions(first)[0] == f"widget.step_{admin.PAGE_SIZE + 2}"
    link = re.search(r'href="([^"]+)" data-testid="next-page"', first)
    assert link is not None
    second = (await browser.get(link.group(1).replace("&amp;", "&"))).text
    assert actions(second) == ["widget.step_2", "widget.step_1", "widget.step_0"]
    assert 'data-testid="next-page"' not in second
    forged = await browser.get(who.url("/audit-log?cursor=bm90LWEtY3Vyc29y"))
    assert forged.status_code == 422 and "cursor" in forged.text


async def test_audit_log_export__csv__formula_cells_neutralized_and_the_export_audited(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given an entry whose target id would run as a spreadsheet formula
    who = await signed_in_admin(browser, db, plan="professional")
    org = await tenant_access(db, who)
    await record(db, org, "widget.created", target_id='=HYPERLINK("http://evil")')
    # When the admin exports the log as CSV
    response = await browser.get(who.url("/audit-log/export?format=csv&action=widget.*"))
    # Then the rows stream as an attachment, the formula cell starting with a quote
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["action"] for row in rows] == ["widget.created"]
    assert rows[0]["target_id"] == '\'=HYPERLINK("http://evil")'
    # And the export itself is in the audit log, with its format and filters
    exported = await db.scalar(
        select(AuditLog).where(
            AuditLog.organization_id == who.org.id, AuditLog.action == "audit_log.exported"
        )
    )
    assert exported is not None and exported.context is not None
    assert exported.context["format"] == "csv"
    assert exported.context["filters"] == {"action": "widget.*"}


async def test_audit_log_export__jsonl__one_entry_per_line(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    who = await signed_in_admin(browser, db, plan="professional")
    org = await tenant_access(db, who)
    await record(db, org, "widget.created")
    response = await browser.get(who.url("/audit-log/export?format=jsonl&action=widget.created"))
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["action"] for line in lines] == ["widget.created"]


async def test_audit_log__entry_detail__changes_as_before_and_after(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    who = await signed_in_admin(browser, db, plan="professional")
    org = await tenant_access(db, who)
    await record(db, org, "widget.renamed", changes={"name": {"before": "Old", "after": "New"}})
    html = (await browser.get(who.url("/audit-log?action=widget.renamed"))).text
    detail = html.split('<details class="org-entry-detail">')[1].split("</details>")[0]
    assert re.search(
        r"<th scope=\"row\">name</th><td><code[^>]*>Old</code></td><td><code[^>]*>New", detail
    )


def test_changes_of__each_shape__before_and_after() -> None:
    changes = admin.changes_of(
        {"a": {"before": None, "after": 2}, "b": [1, "x"], "c": {"deep": True}}
    )
    assert [(c.field, c.before, c.after) for c in changes] == [
        ("a", "—", "2"),
        ("b", "1", "x"),
        ("c", "", '{"deep": true}'),
    ]


# ---- webhooks -------------------------------------------------------------------------------


def with_loopback(settings: Settings) -> Settings:
    """Keel may call the test receiver on 127.0.0.1 (off by default, and in production)."""
    hooks = settings.webhooks.model_copy(update={"allow_loopback": True, "timeout_seconds": 5.0})
    return settings.model_copy(update={"webhooks": hooks})


@pytest.fixture
async def hook_browser(
    settings: Settings, database: Database, cache: Cache, broadcast: Broadcast
) -> AsyncIterator[httpx.AsyncClient]:
    """``browser`` on an app that may call loopback addresses (the test receiver)."""
    hook_settings = with_loopback(settings)
    resources = Resources(hook_settings, database, cache, broadcast)
    async with client_for(hook_settings, resources, base_url="https://testserver") as client:
        client.headers.update(HTML)
        yield client
    await resources.close_outbound()


async def create_webhook(
    browser: httpx.AsyncClient, who: Admin, url: str, *events: str, **fields: str
) -> httpx.Response:
    data = [("url", url), *fields.items(), *(("event_types", e) for e in events)]
    return await post_form(browser, who.url("/webhooks/new"), who.url("/webhooks"), data)


async def only_endpoint(db: AsyncSession, org: Organization) -> WebhookEndpoint:
    return (
        await db.scalars(select(WebhookEndpoint).where(WebhookEndpoint.organization_id == org.id))
    ).one()


async def test_webhooks_create__valid__secret_shown_once_audited_and_published(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given an admin on the new-endpoint form
    who = await signed_in_admin(browser, db)
    form = (await browser.get(who.url("/webhooks/new"))).text
    assert 'data-testid="event-project-created"' in form and 'name="event_types"' in form
    # When they create an endpoint for two events
    response = await create_webhook(
        browser,
        who,
        "https://93.184.215.14/hooks",
        "project.created",
        "member.invited",
        description="CRM",
        enabled="on",
    )
    # Then the answer shows its whsec_ secret, and no cache may keep it
    assert response.status_code == 200, response.text
    found = SECRET.search(response.text)
    assert found is not None
    secret = found.group(1)
    assert response.headers["cache-control"] == "no-store"
    endpoint = await only_endpoint(db, who.org)
    assert endpoint.event_types == ["project.created", "member.invited"] and endpoint.enabled
    # And no later page shows it again
    for path in ("/webhooks", f"/webhooks/{endpoint.id}", f"/webhooks/{endpoint.id}/edit"):
        page = await browser.get(who.url(path))
        assert page.status_code == 200 and secret not in page.text
    listed = (await browser.get(who.url("/webhooks"))).text
    assert "93.184.215.14/hooks" in listed and "Enabled" in listed
    # And it was audited and published, as through the API
    audit = await db.scalar(select(AuditLog).where(AuditLog.target_id == str(endpoint.id)))
    assert audit is not None and audit.action == "webhook_endpoint.created"
    assert audit.actor_id == str(who.user.id)
    event = await db.scalar(
        select(EventRecord).where(EventRecord.name == "webhook_endpoint.created")
    )
    assert event is not None and event.payload["endpoint_id"] == str(endpoint.id)


async def test_webhooks_create__every_event_ticked__all_saved(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given the whole event catalog ticked (one form field per box)
    who = await signed_in_admin(browser, db)
    everything = [event.name for event in webhooks_service.event_types()]
    # When the form is sent
    response = await create_webhook(browser, who, "https://93.184.215.14/all", *everything)
    # Then the endpoint subscribes to each of them
    assert response.status_code == 200, response.text
    assert (await only_endpoint(db, who.org)).event_types == everything


@pytest.mark.parametrize(
    ("url", "words"),
    [("http://10.0.0.1/hook", "private"), ("http://127.0.0.1:9/hook", "loopback")],
)
async def test_webhooks_create__internal_url__422_inline_on_the_url_field(
    browser: httpx.AsyncClient, db: AsyncSession, url: str, words: str
) -> None:
    who = await signed_in_admin(browser, db)
    response = await create_webhook(browser, who, url, "project.created", description="Mine")
    assert response.status_code == 422
    error = re.search(r'<p class="field-error" id="url-error">([^<]+)<', response.text)
    assert error is not None and words in error.group(1)
    assert 'aria-invalid="true"' in response.text
    # The form keeps what was typed and ticked
    assert 'value="Mine"' in response.text
    assert re.search(r'value="project.created" checked', response.text)
    count = select(func.count()).select_from(WebhookEndpoint)
    assert await db.scalar(count.where(WebhookEndpoint.organization_id == who.org.id)) == 0


async def test_webhooks_create__no_csrf_token__403(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    who = await signed_in_admin(browser, db)
    response = await browser.post(who.url("/webhooks"), data={"url": "https://93.184.215.14/"})
    assert response.status_code == 403


async def make_endpoint(
    db: AsyncSession, settings: Settings, who: Admin, url: str = "https://93.184.215.14/h"
) -> WebhookEndpoint:
    """An endpoint saved through the service (its secret sealed as in production)."""
    data = WebhookCreate(url=url, event_types=["project.created"], description="Before")
    org = await tenant_access(db, who)
    endpoint, _ = await webhooks_service.create_webhook(db, org, data, settings=settings)
    return endpoint


async def audited(db: AsyncSession, action: str, target_id: uuid.UUID) -> bool:
    stmt = select(AuditLog.id).where(
        AuditLog.action == action, AuditLog.target_id == str(target_id)
    )
    return await db.scalar(stmt) is not None


async def test_webhooks_edit__url_description_events__saved_and_audited(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    who = await signed_in_admin(browser, db)
    endpoint = await make_endpoint(db, settings, who)
    page = who.url(f"/webhooks/{endpoint.id}")
    form = (await browser.get(f"{page}/edit")).text
    assert 'value="Before"' in form and re.search(r'value="project.created" checked', form)
    response = await post_form(
        browser,
        f"{page}/edit",
        f"{page}/edit",
        [
            ("url", "https://93.184.215.15/new"),
            ("description", ""),
            ("event_types", "team.created"),
        ],
    )
    assert response.status_code == 303 and response.headers["location"] == page
    await db.refresh(endpoint)
    assert endpoint.url == "https://93.184.215.15/new"
    assert endpoint.description is None and endpoint.event_types == ["team.created"]
    assert await audited(db, "webhook_endpoint.updated", endpoint.id)
    shown = (await browser.get(page)).text
    assert "Webhook endpoint saved." in shown and "team.created" in shown


async def test_webhooks_edit__internal_url__422_inline_and_nothing_saved(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    who = await signed_in_admin(browser, db)
    endpoint = await make_endpoint(db, settings, who)
    page = who.url(f"/webhooks/{endpoint.id}/edit")
    response = await post_form(browser, page, page, [("url", "http://169.254.169.254/latest")])
    assert response.status_code == 422
    assert 'id="url-error"' in response.text and "cloud metadata" in response.text
    await db.refresh(endpoint)
    assert endpoint.url == "https://93.184.215.14/h"


async def test_webhooks_disable_then_enable__status_shown_and_audited(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    who = await signed_in_admin(browser, db)
    endpoint = await make_endpoint(db, settings, who)
    page = who.url(f"/webhooks/{endpoint.id}")
    off = await post_form(browser, page, f"{page}/disable")
    assert off.status_code == 303
    await db.refresh(endpoint)
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "manual")
    html = (await browser.get(page)).text
    assert 'data-testid="enable-webhook"' in html and ">Disabled<" in html
    on = await post_form(browser, page, f"{page}/enable")
    assert on.status_code == 303
    await db.refresh(endpoint)
    assert (endpoint.enabled, endpoint.disabled_reason) == (True, None)
    assert await audited(db, "webhook_endpoint.updated", endpoint.id)


async def test_webhooks_rotate__new_secret_shown_once_previous_grace_named(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    who = await signed_in_admin(browser, db)
    endpoint = await make_endpoint(db, settings, who)
    page = who.url(f"/webhooks/{endpoint.id}")
    # Without JavaScript, the confirmation is a page of its own
    fallback = await browser.get(f"{page}/rotate-secret")
    assert fallback.status_code == 200 and 'data-testid="confirm-rotate-secret"' in fallback.text
    response = await post_form(browser, page, f"{page}/rotate-secret")
    assert response.status_code == 200, response.text
    found = SECRET.search(response.text)
    assert found is not None and "previous secret keeps signing" in response.text
    assert response.headers["cache-control"] == "no-store"
    assert found.group(1) not in (await browser.get(page)).text
    assert await audited(db, "webhook_endpoint.rotated", endpoint.id)


async def test_webhooks_delete__confirmed__gone_with_a_notice(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    who = await signed_in_admin(browser, db)
    endpoint = await make_endpoint(db, settings, who)
    page = who.url(f"/webhooks/{endpoint.id}")
    detail = (await browser.get(page)).text
    # The delete is behind a confirmation: a dialog, or without JavaScript a page
    assert 'data-open-dialog="delete-dialog"' in detail and f'href="{page}/delete"' in detail
    assert (await browser.get(f"{page}/delete")).status_code == 200
    response = await post_form(browser, page, f"{page}/delete")
    assert response.status_code == 303 and response.headers["location"] == who.url("/webhooks")
    assert "deleted" in (await browser.get(who.url("/webhooks"))).text
    assert (await browser.get(page)).status_code == 404
    assert await audited(db, "webhook_endpoint.deleted", endpoint.id)


async def seed_deliveries(
    db: AsyncSession, endpoint: WebhookEndpoint, statuses: list[str]
) -> list[WebhookDelivery]:
    """One delivery per status, oldest first, each with its attempts in the log."""
    made = []
    for n, status in enumerate(statuses):
        message = await seed_message(db, endpoint.organization_id)
        tries = 0 if status == PENDING else 2
        made.append(await seed_log_delivery(db, endpoint, message, status=status, tries=tries))
        del n
    return made


async def test_webhook_detail__delivery_log__latency_filters_and_paging(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an endpoint with more deliveries than a page holds, two of them failed
    who = await signed_in_admin(browser, db)
    endpoint = await make_endpoint(db, settings, who)
    statuses = [FAILED, FAILED] + [SUCCEEDED] * admin.PAGE_SIZE + [PENDING]
    await seed_deliveries(db, endpoint, statuses)
    page = who.url(f"/webhooks/{endpoint.id}")
    # When the admin opens its page
    html = (await browser.get(page)).text
    # Then the log lists a page, newest first, with status, attempts and latency
    assert html.count('data-testid="delivery-row"') == admin.PAGE_SIZE
    first_row = html.split('data-testid="delivery-row"')[1]
    assert "Pending" in first_row and "—" in first_row
    assert "1 ms" in html.split('data-testid="delivery-row"')[2]
    # And the filter narrows it, the pager keeping the filter
    failed = (await browser.get(f"{page}?status=failed")).text
    table = failed.split('data-testid="deliveries-table"')[1]
    assert failed.count('data-testid="delivery-row"') == 2 and "Succeeded" not in table
    assert '<option value="failed" selected>' in failed
    link = re.search(r'href="([^"]+)" data-testid="next-page"', html)
    assert link is not None
    rest = (await browser.get(link.group(1).replace("&amp;", "&"))).text
    assert rest.count('data-testid="delivery-row"') == len(statuses) - admin.PAGE_SIZE
    # And the list of endpoints names the last delivery
    listed = (await browser.get(who.url("/webhooks"))).text
    assert "Pending" in listed.split('data-testid="webhook-row"')[1]


async def test_delivery__attempts_listed_and_redeliver__pending_again_audited(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    who = await signed_in_admin(browser, db)
    endpoint = await make_endpoint(db, settings, who)
    [delivery] = await seed_deliveries(db, endpoint, [FAILED])
    page = who.url(f"/webhooks/{endpoint.id}/deliveries/{delivery.id}")
    html = (await browser.get(page)).text
    assert html.count('data-testid="attempt-row"') == 2
    response = await post_form(browser, page, f"{page}/redeliver")
    assert response.status_code == 303 and response.headers["location"] == page
    await db.refresh(delivery)
    assert delivery.status == PENDING
    assert await audited(db, "webhook.redelivered", delivery.id)
    assert "queued again" in (await browser.get(page)).text


async def test_test_ping__real_receiver__its_answer_shown(
    hook_browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an endpoint pointing at a real HTTP receiver on 127.0.0.1
    who = await signed_in_admin(hook_browser, db)
    with receiving(Reply(status=200, body=b"pong from the receiver")) as receiver:
        endpoint = await make_endpoint(db, with_loopback(settings), who, url=receiver.url)
        page = who.url(f"/webhooks/{endpoint.id}")
        # When the admin sends a test ping without JavaScript
        response = await post_form(hook_browser, page, f"{page}/test")
        # Then they land on the test delivery, which shows the receiver's answer
        assert response.status_code == 303, response.text
        delivery = (await hook_browser.get(response.headers["location"])).text
        assert "Test ping succeeded: the endpoint answered 200" in delivery
        assert text_at(delivery, "attempt-status") == "200"
        assert "pong from the receiver" in delivery
        # And with htmx, the answer comes back as a fragment for the page
        token = csrf_of((await hook_browser.get(page)).text)
        fragment = await hook_browser.post(
            f"{page}/test", headers={"hx-request": "true", "x-csrf-token": token}
        )
        assert fragment.status_code == 200
        assert fragment.text.lstrip().startswith('<div class="org-ping">')
        assert 'data-testid="ping-delivery-link"' in fragment.text
        assert len(receiver.received) == 2
        assert json.loads(receiver.received[0].body)["type"] == "webhook.test"
    assert await audited(db, "webhook_endpoint.tested", endpoint.id)


async def test_webhooks__another_tenants_endpoint__404_page(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given another organization's endpoint
    other = Admin(user := await make_user(db), await make_org(db, user))
    theirs = await make_endpoint(db, settings, other)
    who = await signed_in_admin(browser, db)
    token = csrf_of((await browser.get(who.url("/webhooks"))).text)
    # When the admin asks for it under their own organization, or under the other one
    attempts = [
        await browser.get(who.url(f"/webhooks/{theirs.id}")),
        await browser.post(who.url(f"/webhooks/{theirs.id}/delete"), data={"csrf_token": token}),
        await browser.get(other.url(f"/webhooks/{theirs.id}")),
        await browser.get(other.url("/webhooks")),
    ]
    # Then every answer is the 404 page, and the endpoint is untouched
    for response in attempts:
        assert response.status_code == 404
        assert 'data-testid="problem"' in response.text
    await tenancy.enter_tenant(db, other.org.id)
    still = select(WebhookEndpoint.id).where(WebhookEndpoint.id == theirs.id)
    assert await db.scalar(still) == theirs.id


async def test_webhooks__member_without_webhooks_read__403_page(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_user(db)
    org = await make_org(db, owner)
    endpoint = await make_endpoint(db, settings, Admin(owner, org))
    manager = await make_user(db)
    await add_member(db, org, manager, role="manager")
    await log_in(browser, manager.email)
    for path in ("/webhooks", f"/webhooks/{endpoint.id}", "/webhooks/new"):
        response = await browser.get(f"/app/{org.id}{path}")
        assert response.status_code == 403
        assert "webhooks:" in response.text
