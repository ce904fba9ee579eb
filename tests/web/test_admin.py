"""The God dashboard (/admin): only the platform owner (superadmin, MFA on) reaches it, and
every action goes through the service the admin API uses: audited as ``staff``, with its
effect visible to the people it concerns (a suspended organization, a disabled account, a
flag switched on)."""

from __future__ import annotations

import json
import re
import uuid

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit.models import AuditLog
from keel.auth.service import mfa
from keel.config import Settings
from keel.flags import service as flags_service
from keel.flags.schemas import FlagCreate
from keel.kit.jobs.models import DEAD, Job
from keel.organizations.models import Organization
from keel.plans import service as plans_service
from keel.users.models import User
from keel.web.service import admin as admin_service
from tests.architecture.test_routes import api_routes
from tests.helpers.tenancy import add_member, make_org, make_user
from tests.organizations.builders import fresh
from tests.web.helpers import csrf_of, log_in, submit, text_at, with_totp

#: Stand-ins for the path parameters when every /admin route is called.
PATH_VALUES = {
    "user_id": "0190b5a0-0000-7000-8000-000000000001",
    "key": "some_flag",
    "version": "1",
    "plan_key": "free",
    "action": "disable",
}


async def sign_in_owner(browser: httpx.AsyncClient, db: AsyncSession, settings: Settings) -> User:
    """The platform owner, logged in with password and code through the forms."""
    owner = await make_user(db, name="Platform Owner", is_superadmin=True)
    secret, _codes = await with_totp(db, settings, owner)
    assert (await log_in(browser, owner.email)).headers["location"] == "/login/mfa"
    done = await submit(browser, "/login/mfa", code=pyotp.TOTP(secret).now())
    assert done.status_code == 303, done.text
    return owner


async def staff_entries(db: AsyncSession, action: str) -> list[AuditLog]:
    return await fresh(db, select(AuditLog).where(AuditLog.action == action))


async def member_of_new_org(db: AsyncSession, **org_fields: str) -> tuple[Organization, User]:
    member = await make_user(db)
    return await make_org(db, member, **org_fields), member


def admin_paths(app: FastAPI, org_id: uuid.UUID) -> list[tuple[str, str]]:
    """Every (method, path) under /admin, its parameters filled in."""
    values = {**PATH_VALUES, "org_id": str(org_id)}
    found = []
    for path, route in api_routes(app.router.routes):
        if path.startswith("/admin"):
            concrete = re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)
            found += [(method, concrete) for method in sorted(route.methods or ())]
    return found


# ---- who may enter ----------------------------------------------------------------------------


async def test_every_admin_route__member_signed_in__403_page(
    app: FastAPI, browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given an organization admin who is not the platform owner, signed in
    org, member = await member_of_new_org(db)
    await log_in(browser, member.email)
    token = csrf_of((await browser.get(f"/app/{org.id}/dashboard")).text)
    routes = admin_paths(app, org.id)
    assert len(routes) >= 20, routes
    # When they call every route of the God dashboard
    for method, path in routes:
        response = await browser.request(method, path, data={"csrf_token": token})
        # Then each is the 403 page, as the admin API answers
        assert response.status_code == 403, (method, path, response.status_code)
        assert 'data-testid="problem"' in response.text
        assert "platform owner" in response.text


async def test_admin__anonymous__sent_to_login(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/admin/flags")
    assert response.status_code == 303 and response.headers["location"] == "/login"


async def test_admin__superadmin_without_mfa__mfa_required_page(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    owner = await make_user(db, is_superadmin=True)
    await log_in(browser, owner.email)
    response = await browser.get("/admin")
    assert response.status_code == 403
    assert "two-factor" in response.text and 'data-testid="problem"' in response.text


# ---- overview and organizations ---------------------------------------------------------------


async def test_overview__counts_signups_and_navigation(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    _org, member = await member_of_new_org(db)
    owner = await sign_in_owner(browser, db, settings)
    page = await browser.get("/admin")
    assert page.status_code == 200
    assert int(text_at(page.text, "count-organizations") or 0) >= 1
    assert int(text_at(page.text, "count-users") or 0) >= 2
    assert member.email in page.text and owner.email in page.text
    assert 'data-testid="admin-nav-overview" aria-current="page"' in page.text
    assert page.text.count("<h1") == 1


async def test_organizations__search_by_name_or_slug__paged(
    browser: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given three organizations, two of them "Acme"
    tag = uuid.uuid4().hex[:6]
    first, _ = await member_of_new_org(db, name=f"Acme Rockets {tag}")
    second, _ = await member_of_new_org(db, name=f"ACME Anvils {tag}")
    other, _ = await member_of_new_org(db, name=f"Zeta {tag}")
    await sign_in_owner(browser, db, settings)
    monkeypatch.setattr(admin_service, "PAGE_SIZE", 1)
    # When the platform owner searches "acme <tag>"-ish text, one result a page
    found = await browser.get("/admin/organizations", params={"q": "acme"})
    page_one = await browser.get("/admin/organizations", params={"q": f"ACME ANVILS {tag}"})
    # Then the matches come, case-insensitive, newest first, with a next page
    assert found.status_code == 200 and second.name in found.text
    assert other.name not in found.text
    next_link = re.search(r'href="([^"]+)" data-testid="next-page"', found.text)
    assert next_link is not None
    page_two = await browser.get(next_link.group(1).replace("&amp;", "&"))
    assert first.name in page_two.text and second.name not in page_two.text
    assert second.name in page_one.text and first.name not in page_one.text
    # And the exact slug finds its organization
    by_slug = await browser.get("/admin/organizations", params={"q": other.slug})
    assert other.name in by_slug.text


async def test_organization_detail__any_tenant__members_plan_usage_and_404_for_unknown(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    org, _ = await member_of_new_org(db)
    await add_member(db, org, await make_user(db))
    await sign_in_owner(browser, db, settings)
    page = await browser.get(f"/admin/organizations/{org.id}")
    assert page.status_code == 200
    assert text_at(page.text, "organization-members") == "2"
    assert text_at(page.text, "organization-plan") == "Free"
    assert 'data-testid="usage-table"' in page.text
    missing = await browser.get(f"/admin/organizations/{uuid.uuid4()}")
    assert missing.status_code == 404 and 'data-testid="problem"' in missing.text


async def test_change_plan__audited_as_staff_and_bad_plan_inline(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a free organization
    org, _ = await member_of_new_org(db)
    owner = await sign_in_owner(browser, db, settings)
    detail = f"/admin/organizations/{org.id}"
    # When the platform owner picks "starter"
    response = await submit(browser, detail, f"{detail}/plan", plan="starter")
    # Then the organization is on it, audited as the platform (staff) on the owner's behalf
    assert response.status_code == 303 and response.headers["location"] == detail
    assert text_at((await browser.get(detail)).text, "organization-plan") == "Starter"
    [entry] = await staff_entries(db, "subscription.changed")
    assert (entry.actor_kind, entry.actor_user_id) == ("staff", owner.id)
    assert entry.organization_id == org.id
    assert await staff_entries(db, "access.superadmin_override")
    # And an unknown plan is the form again with the message at the select
    refused = await submit(browser, detail, f"{detail}/plan", plan="platinum")
    assert refused.status_code == 422 and 'id="plan-error"' in refused.text


async def test_suspend__members_refused_until_restored(
    browser: httpx.AsyncClient,
    other_browser: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
) -> None:
    # Given a member on their dashboard
    org, member = await member_of_new_org(db)
    await log_in(other_browser, member.email)
    dashboard = f"/app/{org.id}/dashboard"
    assert (await other_browser.get(dashboard)).status_code == 200
    owner = await sign_in_owner(browser, db, settings)
    detail = f"/admin/organizations/{org.id}"
    # When the platform owner suspends it with a reason (the no-JS page shows the form)
    confirm = await browser.get(f"{detail}/suspend")
    assert confirm.status_code == 200 and 'name="reason"' in confirm.text
    response = await submit(browser, detail, f"{detail}/suspend", reason="Unpaid invoices")
    # Then the member gets the suspended refusal, and the change is audited with the reason
    assert response.status_code == 303
    refused = await other_browser.get(dashboard)
    assert refused.status_code == 403 and "Organization suspended" in refused.text
    [entry] = await staff_entries(db, "organization.suspended")
    assert entry.actor_kind == "staff" and entry.actor_user_id == owner.id
    assert entry.context == {"reason": "Unpaid invoices"}
    assert 'data-testid="unsuspend-open"' in (await browser.get(detail)).text
    # When it is restored, Then the member is back in
    assert (await submit(browser, detail, f"{detail}/unsuspend")).status_code == 303
    assert (await other_browser.get(dashboard)).status_code == 200


# ---- users ------------------------------------------------------------------------------------


async def test_users__search_by_email_or_name(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    tag = uuid.uuid4().hex[:8]
    wanted = await make_user(db, email=f"grace-{tag}@example.com", name="Grace Hopper")
    other = await make_user(db, name=f"Someone {tag}")
    await sign_in_owner(browser, db, settings)
    by_email = await browser.get("/admin/users", params={"q": f"GRACE-{tag}"})
    by_name = await browser.get("/admin/users", params={"q": f"someone {tag}"})
    assert wanted.email in by_email.text and other.email not in by_email.text
    assert other.email in by_name.text and wanted.email not in by_name.text
    nothing = await browser.get("/admin/users", params={"q": f"nobody-{tag}"})
    assert "No account found" in nothing.text


async def test_user_detail__status_mfa_and_organizations(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    org, member = await member_of_new_org(db)
    await with_totp(db, settings, member)
    await sign_in_owner(browser, db, settings)
    page = await browser.get(f"/admin/users/{member.id}")
    assert page.status_code == 200
    assert org.name in page.text
    assert "On" in (re.search(r'data-testid="account-mfa">(.*?)</dd>', page.text) or [""])[0]
    assert 'data-testid="user-reset-mfa-open"' in page.text
    assert (await browser.get(f"/admin/users/{uuid.uuid4()}")).status_code == 404


async def test_disable_user__signed_out_and_cannot_log_in_until_enabled(
    browser: httpx.AsyncClient,
    other_browser: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
) -> None:
    # Given a member signed in elsewhere
    org, member = await member_of_new_org(db)
    await log_in(other_browser, member.email)
    assert (await other_browser.get(f"/app/{org.id}/dashboard")).status_code == 200
    owner = await sign_in_owner(browser, db, settings)
    detail = f"/admin/users/{member.id}"
    # When the platform owner disables the account (the no-JS page asks first)
    assert 'data-testid="user-disable-confirm"' in (await browser.get(f"{detail}/disable")).text
    response = await submit(browser, detail, f"{detail}/disable")
    # Then the member's browser is signed out and a new login is refused
    assert response.status_code == 303 and response.headers["location"] == detail
    assert (await other_browser.get("/app")).headers["location"] == "/login"
    other_browser.cookies.clear()
    assert (await log_in(other_browser, member.email)).status_code == 401
    [entry] = await staff_entries(db, "user.disabled")
    assert entry.actor_kind == "staff" and entry.actor_user_id == owner.id
    assert await staff_entries(db, "session.revoked")
    # When the account is enabled again, Then the member can log in
    assert (await submit(browser, detail, f"{detail}/enable")).status_code == 303
    other_browser.cookies.clear()
    assert (await log_in(other_browser, member.email)).status_code == 303


async def test_reset_mfa_and_end_sessions__audited(
    browser: httpx.AsyncClient,
    other_browser: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
) -> None:
    org, member = await member_of_new_org(db)
    secret, _codes = await with_totp(db, settings, member)
    await log_in(other_browser, member.email)
    await submit(other_browser, "/login/mfa", code=pyotp.TOTP(secret).now())
    assert (await other_browser.get(f"/app/{org.id}/dashboard")).status_code == 200
    await sign_in_owner(browser, db, settings)
    detail = f"/admin/users/{member.id}"
    # When the platform owner resets the member's MFA
    assert (await submit(browser, detail, f"{detail}/reset-mfa")).status_code == 303
    # Then the factor is gone (audited); the member's session still works
    assert not await mfa.is_enabled(db, member.id)
    assert [e.actor_kind for e in await staff_entries(db, "mfa.reset")] == ["staff"]
    assert (await other_browser.get(f"/app/{org.id}/dashboard")).status_code == 200
    # When the platform owner ends the member's sessions, Then the member is signed out
    assert (await submit(browser, detail, f"{detail}/end-sessions")).status_code == 303
    assert (await other_browser.get("/app")).headers["location"] == "/login"


async def test_disable_own_account__403(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await sign_in_owner(browser, db, settings)
    detail = f"/admin/users/{owner.id}"
    response = await submit(browser, detail, f"{detail}/disable")
    assert response.status_code == 403 and "your own account" in response.text


# ---- feature flags ----------------------------------------------------------------------------


async def new_flag(browser: httpx.AsyncClient, key: str, **fields: str) -> httpx.Response:
    return await submit(browser, "/admin/flags", "/admin/flags", key=key, **fields)


async def test_flags__create_toggle_in_place_and_without_javascript(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await sign_in_owner(browser, db, settings)
    key = f"beta_{uuid.uuid4().hex[:8]}"
    # When the platform owner creates a flag (off)
    created = await new_flag(browser, key, name="Beta reports", description="Reports, early.")
    assert created.status_code == 303 and created.headers["location"] == f"/admin/flags/{key}"
    listed = await browser.get("/admin/flags")
    assert f'data-testid="flag-toggle-{key}"' in listed.text
    # And switches it on from the list with htmx
    token = csrf_of(listed.text)
    swapped = await browser.post(
        f"/admin/flags/{key}/toggle",
        data={"enabled": "true"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    # Then the answer is the row, now on, with the notice for a toast
    assert swapped.status_code == 200 and swapped.text.lstrip().startswith("<tr")
    assert ">On<" in swapped.text and "Turn off" in swapped.text
    assert json.loads(swapped.headers["hx-trigger"]) == {"keelNotice": f"{key} is on."}
    assert (await flags_service.get_flag(db, key)).definition["enabled"] is True
    [entry] = await staff_entries(db, "feature.enabled")
    assert entry.actor_kind == "staff" and entry.actor_user_id == owner.id
    # And without JavaScript the same form posts and the list comes back
    off = await submit(browser, "/admin/flags", f"/admin/flags/{key}/toggle", enabled="false")
    assert off.status_code == 303 and off.headers["location"] == "/admin/flags"
    # And a taken key is the form again, 409, the message at the key
    again = await new_flag(browser, key)
    assert again.status_code == 409 and 'id="key-error"' in again.text


async def test_flag__rollout_targeting_history_rollback_delete(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    await sign_in_owner(browser, db, settings)
    key = f"rollout_{uuid.uuid4().hex[:8]}"
    await new_flag(browser, key)
    detail = f"/admin/flags/{key}"
    page = await browser.get(detail)
    assert 'type="range"' in page.text and 'data-testid="rollout-value"' in page.text
    assert '<label class="label" for="rollout_percentage">' in page.text
    # The switch of the flag's own page comes back to it
    on = await submit(browser, detail, f"{detail}/toggle", enabled="true", back="detail")
    assert on.status_code == 303 and on.headers["location"] == detail
    assert text_at((await browser.get(detail)).text, "flag-version") == "2"
    # The rollout: saved, or refused inline
    assert (
        await submit(browser, detail, f"{detail}/rollout", rollout_percentage="40")
    ).status_code == 303
    assert text_at((await browser.get(detail)).text, "rollout-value") == "40"
    bad = await submit(browser, detail, f"{detail}/rollout", rollout_percentage="140")
    assert bad.status_code == 422 and 'id="rollout_percentage-error"' in bad.text
    # The targeting: valid JSON saved; a definition the flags service refuses is shown inline
    rules = {"rules": [{"attribute": "plan", "operator": "in", "value": ["starter"]}]}
    saved = await submit(browser, detail, f"{detail}/targeting", targeting=json.dumps(rules))
    assert saved.status_code == 303
    flag = await flags_service.get_flag(db, key)
    assert flag.definition["targeting"]["rules"][0]["value"] == ["starter"]
    wrong = {"rules": [{"attribute": "plan", "operator": "resembles", "value": "x"}]}
    refused = await submit(browser, detail, f"{detail}/targeting", targeting=json.dumps(wrong))
    assert refused.status_code == 422 and 'id="targeting-error"' in refused.text
    assert "targeting.rules.0.operator" in refused.text and "resembles" in refused.text
    not_json = await submit(browser, detail, f"{detail}/targeting", targeting="{rules: nope")
    assert not_json.status_code == 422 and "This is not JSON" in not_json.text
    # The history: every version with its diff, and a rollback to version 1 (confirmed)
    history = (await browser.get(detail)).text
    assert 'data-testid="history-4"' in history and 'data-testid="rollback-1-open"' in history
    assert (await browser.get(f"{detail}/rollback/1")).status_code == 200
    assert (await submit(browser, detail, f"{detail}/rollback/1")).status_code == 303
    db.expire_all()  # the flag read above is in this session's identity map
    restored = await flags_service.get_flag(db, key)
    assert restored.definition["rollout_percentage"] == 100.0
    assert restored.definition["targeting"]["rules"] == []
    assert restored.definition["enabled"] is False
    assert restored.version == 5
    # Deleting (confirmed) removes it; the list no longer shows it
    assert (await browser.get(f"{detail}/delete")).status_code == 200
    gone = await submit(browser, detail, f"{detail}/delete")
    assert gone.status_code == 303 and gone.headers["location"] == "/admin/flags"
    assert f'data-testid="flag-row-{key}"' not in (await browser.get("/admin/flags")).text
    assert [e.actor_kind for e in await staff_entries(db, "feature.deleted")][-1] == "staff"


async def test_beta_card__flag_on_for_the_member__on_their_dashboard(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a member, and a flag of their organization with a description, off
    org, member = await member_of_new_org(db)
    key = f"beta_{uuid.uuid4().hex[:8]}"
    data = FlagCreate(
        key=key,
        description="Shared boards.",
        rollout_percentage=0.0,
        targeting={"include_organizations": [str(org.id)]},
    )
    await flags_service.create_flag(db, Actor.system(), data)
    await log_in(browser, member.email)
    dashboard = f"/app/{org.id}/dashboard"
    assert f'data-testid="feature-{key}"' not in (await browser.get(dashboard)).text
    # When it is switched on, Then the next page load shows its card
    await flags_service.set_enabled(db, Actor.system(), key, enabled=True)
    page = (await browser.get(dashboard)).text
    assert f'data-testid="feature-{key}"' in page and "Beta: Shared boards." in page


# ---- plans and health -------------------------------------------------------------------------


async def test_plan_edit__saved_and_refusals_inline(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await sign_in_owner(browser, db, settings)
    editor = "/admin/plans/free"
    page = await browser.get(editor)
    assert page.status_code == 200 and 'data-testid="feature-input-max_projects"' in page.text
    fields = _form_values(page.text)
    # When the platform owner raises the project limit and lowers the API rate
    changed = {**fields, "feature.max_projects": "4", "rate.api.limit": "50"}
    saved = await browser.post(editor, data=changed)
    # Then the catalog says so, audited as the platform
    assert saved.status_code == 303
    plan = await plans_service.plan_read(db, "free")
    assert plan.features["max_projects"] == 4 and plan.rate_limits["api"] is not None
    assert plan.rate_limits["api"].limit == 50
    [entry] = await staff_entries(db, "plan.updated")
    assert entry.actor_kind == "staff" and entry.actor_user_id == owner.id
    # And a word where a number goes, or half a rate limit, is refused at the field
    bad = await browser.post(editor, data={**fields, "feature.max_projects": "many"})
    assert bad.status_code == 422 and 'id="feature.max_projects-error"' in bad.text
    half = await browser.post(editor, data={**fields, "rate.api.window_seconds": ""})
    assert half.status_code == 422 and 'id="rate-api-error"' in half.text
    assert (await plans_service.plan_read(db, "free")).features["max_projects"] == 4
    listed = await browser.get("/admin/plans")
    assert 'data-testid="plan-link-enterprise"' in listed.text


async def test_health__checks_queue_and_dead_jobs(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    db.add(Job(name="jobs.purge", payload={}, status=DEAD, attempts=3, last_error="boom: disk"))
    await db.flush()
    await sign_in_owner(browser, db, settings)
    page = await browser.get("/admin/health")
    assert page.status_code == 200
    assert 'data-testid="check-database"' in page.text and ">OK<" in page.text
    assert int(text_at(page.text, "queue-dead") or 0) >= 1
    assert "boom: disk" in page.text
    assert 'data-testid="error-rate"' in page.text


def test_error_rate__counts_5xx_among_all() -> None:
    from prometheus_client import CollectorRegistry, Counter

    counter = Counter("t_requests_total", "t", ["status_code"], registry=CollectorRegistry())
    counter.labels(status_code="200").inc(7)
    counter.labels(status_code="503").inc(2)
    counter.labels(status_code="404").inc(1)
    rate = admin_service.error_rate(counter)
    assert (rate.requests, rate.errors, rate.percent) == (10, 2, 20.0)


_INPUT = re.compile(
    r'<input class="input" id="[^"]+" name="([^"]+)" type="(?:text|number)"(?: value="([^"]*)")?'
)
_TEXTAREA = re.compile(r'<textarea class="input" id="[^"]+" name="([^"]+)"[^>]*>([^<]*)</textarea>')
_CHECKED = re.compile(r'<input type="checkbox" id="[^"]+" name="([^"]+)" value="on" checked')


def _form_values(html: str) -> dict[str, str]:
    """The plan form as a browser would send it unchanged."""
    values = {name: value or "" for name, value in _INPUT.findall(html)}
    values |= dict.fromkeys(_CHECKED.findall(html), "on")
    values |= dict(_TEXTAREA.findall(html))
    values["csrf_token"] = csrf_of(html)
    return values
