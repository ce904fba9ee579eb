"""The signed-in frame (app_base.html + ``keel.web.service.shell``): the navigation shows
only what the caller may use, the switcher lists their organizations, the bell counts their
unread notifications, a notice after a redirect shows once, and a plan gate's 402 page opens
the upgrade prompt."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.kit import tenancy
from keel.notifications import service as notifications_service
from keel.organizations.models import Membership
from keel.web import rules
from keel.web.pages.problems import render_problem
from tests.helpers.tenancy import add_member, make_org, make_user
from tests.web.helpers import csrf_of, log_in, sign_up, text_at

ADMIN_ONLY = ("nav-members", "nav-teams", "nav-access", "nav-plan", "nav-audit", "nav-webhooks")


async def membership_of(db: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID) -> Membership:
    await tenancy.enter_tenant(db, org_id)
    found = await db.scalar(
        select(Membership).where(
            Membership.organization_id == org_id, Membership.user_id == user_id
        )
    )
    assert found is not None
    return found


def nav_ids(html: str, prefix: str) -> set[str]:
    return set(re.findall(rf'data-testid="({prefix}[^"]*)"', html))


async def test_nav__admin_sees_organization_pages_a_member_does_not(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given an organization with an admin and a plain member
    admin = await make_user(db)
    org = await make_org(db, admin)
    member = await make_user(db)
    await add_member(db, org, member, role="member")
    # When each opens the dashboard
    await log_in(browser, admin.email)
    as_admin = nav_ids((await browser.get(f"/app/{org.id}/dashboard")).text, "nav-")
    browser.cookies.clear()
    await log_in(browser, member.email)
    as_member = nav_ids((await browser.get(f"/app/{org.id}/dashboard")).text, "nav-")
    # Then the admin's navigation holds the organization's pages and the member's does not
    assert set(ADMIN_ONLY) <= as_admin
    assert {"nav-dashboard", "nav-projects", "nav-notifications"} <= as_member
    assert not as_member & set(ADMIN_ONLY)


async def test_switcher__lists_every_organization_of_the_user_current_marked(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await make_user(db)
    first = await make_org(db, user, name="Alpha Works")
    second = await make_org(db, user, name="Beta Labs")
    other = await make_org(db, await make_user(db), name="Not Mine")
    await log_in(browser, user.email)
    html = (await browser.get(f"/app/{second.id}/dashboard")).text
    assert f'href="/app/{first.id}/dashboard"' in html
    assert f'href="/app/{second.id}/dashboard" aria-current="true"' in html
    assert str(other.id) not in html and "Not Mine" not in html
    assert text_at(html, "org-name") == "Beta Labs"


async def test_bell__counts_unread_notifications_of_this_user_only(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await make_user(db)
    org = await make_org(db, user)
    someone = await make_user(db)
    for n in range(3):
        await notifications_service.notify(db, user_id=user.id, kind="test", title=f"T{n}", body="")
    await notifications_service.notify(db, user_id=someone.id, kind="test", title="X", body="")
    await log_in(browser, user.email)
    html = (await browser.get(f"/app/{org.id}/dashboard")).text
    assert text_at(html, "unread-count") == "3"
    assert 'aria-label="Notifications, 3 unread"' in html


async def test_notice__after_a_redirect__shown_once(browser: httpx.AsyncClient) -> None:
    # Given a new user who adds a document (post/redirect/get with a notice)
    dashboard = (await sign_up(browser)).headers["location"]
    token = csrf_of((await browser.get(dashboard)).text)
    action = dashboard.removesuffix("dashboard") + "documents"
    posted = await browser.post(action, data={"csrf_token": token, "title": "Roadmap"})
    assert posted.status_code == 303, posted.text
    # When they follow the redirect, then load the page again
    shown = (await browser.get(dashboard)).text
    again = (await browser.get(dashboard)).text
    # Then the toast names the document once, and is gone on the next load
    assert 'data-testid="toast"' in shown and "Roadmap" in shown.split('id="toasts"')[1]
    assert 'data-testid="toast"' not in again


async def test_notice__forged_cookie__ignored(browser: httpx.AsyncClient, db: AsyncSession) -> None:
    user = await make_user(db)
    org = await make_org(db, user)
    await log_in(browser, user.email)
    forged = rules.encode_notice("Your account is locked: call +1 555", b"not-the-key" * 3)
    browser.cookies.set(rules.NOTICE_COOKIE, forged, domain="testserver")
    html = (await browser.get(f"/app/{org.id}/dashboard")).text
    assert "call +1 555" not in html


def test_notice_codec__round_trip_and_tamper() -> None:
    key = rules.signing_key("k" * 40)
    value = rules.encode_notice("Project “Apollo” created.", key)
    assert rules.decode_notice(value, key) == "Project “Apollo” created."
    payload, signature = value.split(".")
    assert rules.decode_notice(f"{payload}x.{signature}", key) is None
    assert rules.decode_notice(value, rules.signing_key("j" * 40)) is None
    assert rules.decode_notice("garbage", key) is None


def test_upgrade_links__org_plan_page_and_same_site_back() -> None:
    org = uuid.uuid4()
    links = rules.upgrade_links(
        f"/app/{org}/projects", f"https://evil.example/app/{org}/projects?q=a"
    )
    # "Maybe later" keeps only the path: the Referer's host is never a link target
    assert links == {"upgrade": f"/app/{org}/plan#upgrade", "back": f"/app/{org}/projects?q=a"}
    assert rules.upgrade_links("/signup", None) == {"upgrade": "/app", "back": "/app"}
    assert rules.upgrade_links("/app/not-a-uuid/x", "//evil.example/x")["back"] == "/x"
    assert rules.upgrade_links("/app/x", "https://keel.test/\\evil.example/")["back"] == "/app"


def test_problem_page__402__upgrade_modal_with_three_choices() -> None:
    org = uuid.uuid4()
    problem = {
        "status": 402,
        "title": "Plan limit reached",
        "detail": "The free plan allows 3 projects.",
        "code": "plan_limit_exceeded",
        "upgrade_to": "starter",
    }
    html = render_problem(problem, "req-1", path=f"/app/{org}/projects", referer=None).decode()
    assert 'data-testid="upgrade-modal"' in html and "data-auto-open" in html
    assert f'href="/app/{org}/plan#upgrade" data-testid="upgrade-now"' in html
    assert 'data-testid="upgrade-learn-more"' in html and 'data-testid="upgrade-later"' in html
    assert "Starter" in html
    assert (
        'data-testid="upgrade-modal"'
        not in render_problem(problem | {"status": 403}, None).decode()
    )


async def test_admin_page__admin_past_mfa_grace__refused_until_enrolled(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    """The pages apply the API's gate: an admin who joined long ago without two-factor may
    read, but not use an administrative permission (here settings:update, the API keys)."""
    admin = await make_user(db)
    org = await make_org(db, admin)
    membership = await membership_of(db, org.id, admin.id)
    membership.joined_at = membership.joined_at - timedelta(days=365)
    await db.flush()
    await log_in(browser, admin.email)
    assert (await browser.get(f"/app/{org.id}/dashboard")).status_code == 200
    refused = await browser.get(f"/app/{org.id}/api-keys")
    assert refused.status_code == 403
    assert 'data-code="mfa_enrollment_required"' in refused.text


async def test_nav__account_pages_listed_on_every_signed_in_page(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await make_user(db)
    org = await make_org(db, user)
    await log_in(browser, user.email)
    for path in (f"/app/{org.id}/dashboard", "/app/settings/profile"):
        ids = nav_ids((await browser.get(path)).text, "nav-")
        assert {"nav-profile", "nav-security", "nav-email-preferences"} <= ids, path
    profile = (await browser.get("/app/settings/profile")).text
    assert 'data-testid="nav-profile" aria-current="page"' in profile
