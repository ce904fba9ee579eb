"""The organization admin pages in a real browser: a webhook endpoint created by clicks (its
secret shown once), pinged against a real receiver and followed into its delivery log; the
audit log filtered by action; and axe (WCAG 2.1 A/AA) on the plan page, the audit log with
rows, the webhooks list, an endpoint with deliveries and the secret page, in both themes.

The organization must be on a plan with the audit log, and plans are changed by the platform
owner only: the set-up does it through the same service, on the database of a ``keel serve``
of this module (started as the shared ``live_server`` is, by ``steps.serving``, with more
settings). That server lets webhooks call 127.0.0.1 (``KEEL_WEBHOOKS__ALLOW_LOOPBACK``,
development only), so the test ping reaches the receiver of ``tests/webhooks/receiver.py``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import OrgAccess
from keel.config import Settings
from keel.kit import security
from keel.kit.db import standalone_transaction
from keel.organizations.models import Organization
from keel.organizations.service import orgs
from keel.users import rules as user_rules
from keel.users.models import User
from keel.webhooks import service as webhooks_service
from keel.webhooks.models import FAILED, SUCCEEDED
from keel.webhooks.schemas import WebhookCreate
from tests.e2e.conftest import (
    SCHEMES,
    AxeViolations,
    ColorScheme,
    Screenshot,
    checked_page,
    new_context,
)
from tests.e2e.steps import LiveServer, serving
from tests.e2e.support import log_in, no_violations
from tests.helpers import tenancy as tenancy_helpers
from tests.helpers.tenancy import PASSWORD, access_for, make_org, make_user
from tests.webhooks.builders import seed_log_delivery, seed_message
from tests.webhooks.receiver import Reply, receiving

#: A public address (IANA's example.com) that no test ever sends to: endpoints pointing at
#: it are created disabled, or subscribed to an event the tests never cause.
PUBLIC_URL = "https://93.184.215.14/keel-e2e"
APP_URL = re.compile(r"/app/[^/]+/dashboard$")


def settings_of(server: LiveServer) -> Settings:
    """Settings over the server's database, for set-up through the services."""
    database = f"sqlite+aiosqlite:///{server.data_dir / 'keel.db'}"
    return Settings(env="development", data_dir=server.data_dir, database={"url": database})


@pytest.fixture(scope="module")
def org_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``keel serve`` as a developer runs it, webhooks allowed to reach 127.0.0.1 and a
    support address for the plan page's upgrade prompt."""
    extra_env = {
        "KEEL_WEBHOOKS__ALLOW_LOOPBACK": "true",
        "KEEL_WEBHOOKS__TIMEOUT_SECONDS": "5",
        "KEEL_NOTIFICATIONS__SUPPORT_EMAIL": "sales@keel.test",
    }
    with serving(tmp_path_factory.mktemp("e2e-organization"), extra_env) as server:
        yield server


@dataclass(frozen=True)
class ProAdmin:
    """The admin of an organization on the Professional plan, signed in once."""

    org_id: uuid.UUID
    cookies: list[Any]  # Playwright's cookie dicts
    #: An endpoint (disabled) with a succeeded and a failed delivery in its log.
    webhook_id: uuid.UUID

    def path(self, rest: str) -> str:
        return f"/app/{self.org_id}{rest}"


@pytest.fixture(scope="module")
async def pro_admin(browser: Browser, org_server: LiveServer) -> ProAdmin:
    email = f"e2e-admin-{uuid.uuid4().hex[:10]}@example.com"
    settings = settings_of(org_server)
    await _hash_password_first()
    # Short transactions: each holds SQLite's write lock, which the server waits 5 s for.
    async with standalone_transaction(settings) as db:
        owner = await make_user(db, email=email, name="Ada Admin")
        org = await make_org(db, owner, name="Analytical Engines")
        owner_id, org_id = owner.id, org.id
    async with standalone_transaction(settings) as db:
        await _on_professional(db, org_id)
    async with standalone_transaction(settings) as db:
        webhook_id = await _webhook_with_deliveries(db, settings, owner_id, org_id)
    context = await new_context(browser, org_server.url)
    try:
        page = await context.new_page()
        await log_in(page, email, PASSWORD)
        await expect(page).to_have_url(APP_URL)
        cookies = list((await context.storage_state())["cookies"])
    finally:
        await context.close()
    return ProAdmin(org_id, cookies, webhook_id)


async def _hash_password_first() -> None:
    """``make_user`` hashes the test password once per process (argon2, slow on purpose):
    done here, before any transaction holds the write lock."""
    if "hash" not in tenancy_helpers._HASH:
        password = user_rules.normalize_password(PASSWORD)
        tenancy_helpers._HASH["hash"] = await security.hash_password(password)


async def _owned(db: AsyncSession, user_id: uuid.UUID, org_id: uuid.UUID) -> OrgAccess:
    user, org = await db.get(User, user_id), await db.get(Organization, org_id)
    assert user is not None and org is not None
    return await access_for(db, user, org)


async def _on_professional(db: AsyncSession, org_id: uuid.UUID) -> None:
    """The platform owner moves the organization to Professional (audited, published)."""
    platform = await make_user(db, name="Platform Owner", is_superadmin=True)
    await orgs.change_plan(db, await _owned(db, platform.id, org_id), "professional")


async def _webhook_with_deliveries(
    db: AsyncSession, settings: Settings, user_id: uuid.UUID, org_id: uuid.UUID
) -> uuid.UUID:
    """A disabled endpoint (nothing is ever sent to it) with a failed and a succeeded
    delivery in its log."""
    tenant = await _owned(db, user_id, org_id)
    data = WebhookCreate(url=PUBLIC_URL, description="Billing system", enabled=False)
    endpoint, _ = await webhooks_service.create_webhook(db, tenant, data, settings=settings)
    for status in (FAILED, SUCCEEDED):
        message = await seed_message(db, org_id)
        await seed_log_delivery(db, endpoint, message, status=status, tries=2)
    return endpoint.id


@pytest.fixture
async def admin_page(
    browser: Browser, org_server: LiveServer, pro_admin: ProAdmin, color_scheme: ColorScheme
) -> AsyncIterator[Page]:
    """A fresh context signed in as the admin, checked afterwards as ``page`` is."""
    async with checked_page(browser, org_server.url, color_scheme, pro_admin.cookies) as page:
        yield page


# ---- journeys -------------------------------------------------------------------------------


async def create_endpoint(page: Page, admin: ProAdmin, url: str, *, enabled: bool) -> str:
    """Through the form, by clicks; the secret shown on the result page."""
    await page.goto(admin.path("/webhooks"))
    await page.get_by_test_id("add-webhook").click()
    await page.get_by_test_id("webhook-url").fill(url)
    await page.get_by_test_id("webhook-description").fill("CRM sync")
    await page.get_by_test_id("event-team-created").check()
    if not enabled:
        await page.get_by_test_id("webhook-enabled").uncheck()
    await page.get_by_test_id("save-webhook").click()
    secret = page.get_by_test_id("webhook-secret")
    await expect(secret).to_have_value(re.compile(r"^whsec_"))
    return await secret.input_value()


async def test_webhook__created_by_clicks__secret_once_ping_answered_log_opened(
    admin_page: Page, pro_admin: ProAdmin
) -> None:
    with receiving(Reply(status=200, body=b"received by the e2e receiver")) as receiver:
        # Given the admin creates an endpoint pointing at a real receiver
        secret = await create_endpoint(admin_page, pro_admin, receiver.url, enabled=True)
        # When they go on to the endpoint
        await admin_page.get_by_test_id("open-webhook").click()
        await expect(admin_page.get_by_test_id("webhook-url-text")).to_have_text(receiver.url)
        # Then the secret is nowhere on it
        assert secret not in await admin_page.content()
        # When they send a test ping
        await admin_page.get_by_test_id("send-test").click()
        # Then the receiver's answer shows in place, and the receiver got one signed request
        summary = admin_page.get_by_test_id("ping-summary")
        await expect(summary).to_contain_text("the endpoint answered 200")
        assert len(receiver.received) == 1
        assert receiver.received[0].headers.get("webhook-signature", "").startswith("v1,")
        # And the delivery log, reloaded, lists the test delivery; its page shows the answer
        await admin_page.reload()
        rows = admin_page.get_by_test_id("delivery-row")
        await expect(rows).to_have_count(1)
        await rows.first.get_by_test_id("delivery-link").click()
        await expect(admin_page.get_by_test_id("attempt-status")).to_have_text("200")
        await expect(admin_page.get_by_test_id("attempt-excerpt")).to_contain_text("e2e receiver")


async def test_audit_log__filtered_by_action__only_those_rows(
    admin_page: Page, pro_admin: ProAdmin
) -> None:
    # Given the audit log of an organization with several kinds of entries
    await admin_page.goto(pro_admin.path("/audit-log"))
    all_actions = await admin_page.get_by_test_id("audit-action").all_inner_texts()
    assert "subscription.changed" in all_actions and len(set(all_actions)) > 1
    # When the admin filters by an action prefix
    await admin_page.get_by_test_id("filter-action").fill("subscription.*")
    await admin_page.get_by_test_id("apply-filters").click()
    # Then only entries of that action are listed, and the filter is in the URL
    await expect(admin_page).to_have_url(re.compile(r"action=subscription\.\*"))
    shown = await admin_page.get_by_test_id("audit-action").all_inner_texts()
    assert shown and all(action.startswith("subscription.") for action in shown)


# ---- accessibility --------------------------------------------------------------------------


async def assert_accessible(
    page: Page, axe_violations: AxeViolations, screenshot: Screenshot, name: str
) -> None:
    await screenshot(page, f"organization-{name}")
    await no_violations(page, axe_violations, name)


@pytest.mark.parametrize("color_scheme", SCHEMES)
@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("plan", "/plan"),
        ("audit-log", "/audit-log"),
        ("webhooks", "/webhooks"),
        ("webhook-detail", "/webhooks/{webhook_id}"),
        ("webhook-new", "/webhooks/new"),
    ],
)
async def test_pages__axe_wcag21aa__no_violations(
    admin_page: Page,
    pro_admin: ProAdmin,
    axe_violations: AxeViolations,
    screenshot: Screenshot,
    name: str,
    path: str,
) -> None:
    response = await admin_page.goto(pro_admin.path(path.format(webhook_id=pro_admin.webhook_id)))
    assert response is not None and response.status == 200
    if name == "audit-log":
        await expect(admin_page.get_by_test_id("audit-row").first).to_be_visible()
        await admin_page.locator("details.org-entry-detail > summary").first.click()
    if name == "webhook-detail":
        await expect(admin_page.get_by_test_id("delivery-row")).to_have_count(2)
    await assert_accessible(admin_page, axe_violations, screenshot, name)
    if name == "webhook-detail":  # and one delivery's page, with its attempts
        await admin_page.get_by_test_id("delivery-link").first.click()
        await expect(admin_page.get_by_test_id("attempt-row")).to_have_count(2)
        await assert_accessible(admin_page, axe_violations, screenshot, "delivery")


@pytest.mark.parametrize("color_scheme", SCHEMES)
async def test_webhook_secret_page__axe_wcag21aa__no_violations(
    admin_page: Page, pro_admin: ProAdmin, axe_violations: AxeViolations, screenshot: Screenshot
) -> None:
    await create_endpoint(admin_page, pro_admin, PUBLIC_URL, enabled=False)
    await assert_accessible(admin_page, axe_violations, screenshot, "webhook-secret")


@pytest.mark.parametrize("color_scheme", SCHEMES)
async def test_webhook_delete_dialog__axe_wcag21aa__no_violations(
    admin_page: Page, pro_admin: ProAdmin, axe_violations: AxeViolations, screenshot: Screenshot
) -> None:
    await admin_page.goto(pro_admin.path(f"/webhooks/{pro_admin.webhook_id}"))
    await admin_page.get_by_test_id("delete-webhook-open").click()
    await expect(admin_page.get_by_test_id("delete-webhook")).to_be_visible()
    await assert_accessible(admin_page, axe_violations, screenshot, "webhook-delete-dialog")
    # Cancelling keeps the endpoint
    await admin_page.keyboard.press("Escape")
    await expect(admin_page.get_by_test_id("delete-webhook")).to_be_hidden()
