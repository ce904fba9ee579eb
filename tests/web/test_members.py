"""The organization admin pages through the ASGI app: members and invitations, teams, roles
and access (custom roles, policies, explain), and the organization's settings. Each write
goes through the organizations service, so each test reads what the API's tests read: the
rows, the audit log, the outbox, the queued email."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.kit import clock, tenancy
from keel.kit.jobs.models import Job
from keel.organizations.models import AccessPolicy, CustomRole, Organization, Team
from keel.users.models import User
from tests.helpers.tenancy import PASSWORD, add_member, make_org, make_team, make_user
from tests.organizations.builders import (
    audit_actions,
    event_payloads,
    fresh,
    grant_custom_role,
    invitations_of,
    make_invitation,
    membership,
)
from tests.web.helpers import admin_signed_in, csrf_of, log_in, submit, text_at
from tests.web.test_frame import nav_ids

SEND_EMAIL = "notifications.send_email"


async def admin_of(
    browser: httpx.AsyncClient, db: AsyncSession, *, plan: str | None = None
) -> tuple[Organization, User]:
    """An organization and its admin, logged in."""
    admin, org = await admin_signed_in(browser, db, plan=plan)
    return org, admin


def rows(html: str, testid: str) -> list[str]:
    return re.findall(rf'<tr data-testid="{testid}"[^>]*>(.*?)</tr>', html, flags=re.S)


def assert_problem_page(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert 'data-testid="problem"' in response.text


async def mail_jobs_to(db: AsyncSession, email: str) -> list[Job]:
    jobs = await db.scalars(select(Job).where(Job.name == SEND_EMAIL))
    return [job for job in jobs if job.payload.get("to") == email]


# ---- members and invitations -----------------------------------------------------------------


async def test_invite__admin__invitation_listed_email_queued_audited_published(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given an admin on the members page
    org, admin = await admin_of(browser, db)
    page = f"/app/{org.id}/members"
    # When they invite an address as a manager
    response = await submit(
        browser, page, f"/app/{org.id}/invitations", email="Grace@Example.com", role="manager"
    )
    # Then they are back on the members page, the invitation listed
    assert response.status_code == 303 and response.headers["location"] == page
    after = await browser.get(page)
    [row] = rows(after.text, "invitation-row")
    assert "grace@example.com" in row and "manager" in row and "Pending" in row
    assert "Invitation sent to grace@example.com." in after.text
    # And the invitation exists, its email is queued, and it was audited and published
    [invitation] = await invitations_of(db, org)
    assert (invitation.email, invitation.role) == ("grace@example.com", "manager")
    [job] = await mail_jobs_to(db, "grace@example.com")
    assert job.payload["template"] == "invitation"
    assert "member.invited" in await audit_actions(db, org)
    [event] = await event_payloads(db, org, "member.invited")
    assert event["invitation_id"] == str(invitation.id) and event["invited_by"] == str(admin.id)


async def test_invite__bad_address_422_already_member_409__shown_at_the_email_field(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    org, admin = await admin_of(browser, db)
    page, action = f"/app/{org.id}/members", f"/app/{org.id}/invitations"
    bad = await submit(browser, page, action, email="not-an-address", role="member")
    assert bad.status_code == 422
    assert 'id="email-error"' in bad.text and 'value="not-an-address"' in bad.text
    taken = await submit(browser, page, action, email=admin.email, role="member")
    assert taken.status_code == 409
    assert 'id="email-error"' in taken.text and "already belongs" in taken.text
    assert await invitations_of(db, org) == []


async def test_resend__admin__new_link_sent_and_audited(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a pending invitation
    org, _admin = await admin_of(browser, db)
    invitation, _token = await make_invitation(db, org, email="late@example.com")
    old_hash = invitation.token_hash
    # When the admin resends it from the members page
    response = await submit(
        browser,
        f"/app/{org.id}/members",
        f"/app/{org.id}/invitations/{invitation.id}/resend",
    )
    # Then a new link went out (new token, new email) and it was audited
    assert response.status_code == 303
    [stored] = await invitations_of(db, org)
    assert stored.token_hash != old_hash
    assert len(await mail_jobs_to(db, "late@example.com")) == 1
    assert "member.invited" in await audit_actions(db, org)


async def test_revoke__confirm_page_without_js_then_post__revoked_and_gone_from_list(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a pending invitation
    org, _admin = await admin_of(browser, db)
    invitation, _token = await make_invitation(db, org, email="gone@example.com")
    revoke = f"/app/{org.id}/invitations/{invitation.id}/revoke"
    # When the admin follows the revoke link (no JavaScript) and confirms
    confirm = await browser.get(revoke)
    assert confirm.status_code == 200 and "gone@example.com" in confirm.text
    response = await browser.post(revoke, data={"csrf_token": csrf_of(confirm.text)})
    # Then the invitation is revoked, audited, published, and no longer listed
    assert response.status_code == 303
    [stored] = await invitations_of(db, org)
    assert stored.revoked_at is not None
    assert "invitation.revoked" in await audit_actions(db, org)
    assert await event_payloads(db, org, "invitation.revoked") == [
        {"invitation_id": str(invitation.id)}
    ]
    assert rows((await browser.get(f"/app/{org.id}/members")).text, "invitation-row") == []


async def test_members_page__lists_role_joined_and_mfa(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    org, _admin = await admin_of(browser, db)
    await add_member(db, org, await make_user(db, name="Mary Member"), role="member")
    html = (await browser.get(f"/app/{org.id}/members")).text
    members = rows(html, "member-row")
    assert len(members) == 2
    assert "Ada Admin" in members[0] and "(you)" in members[0]
    assert "Mary Member" in members[1] and 'value="member" selected' in members[1]
    assert all("Off" in row for row in members)  # nobody has two-factor on
    assert 'aria-current="page"' in html and 'data-testid="nav-members"' in html


async def test_change_role__member_to_manager__saved_audited(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a member
    org, _admin = await admin_of(browser, db)
    mary = await make_user(db, name="Mary Member")
    await add_member(db, org, mary, role="member")
    # When the admin makes them a manager
    response = await submit(
        browser, f"/app/{org.id}/members", f"/app/{org.id}/members/{mary.id}/role", role="manager"
    )
    # Then the role changed, through the service (audited and published)
    assert response.status_code == 303
    found = await membership(db, org, mary)
    assert found is not None and found.role == "manager"
    assert "member.updated" in await audit_actions(db, org)
    [changed] = await event_payloads(db, org, "member.role_changed")
    assert (changed["role"], changed["previous_role"]) == ("manager", "member")


async def test_change_role__custom_role_given_in_the_row__saved(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given an organization with a custom role (its plan includes them) and a member
    org, _admin = await admin_of(browser, db, plan="professional")
    role, _policy = await _role_and_policy(db, org)
    mary = await make_user(db, name="Mary Member")
    await add_member(db, org, mary)
    page = await browser.get(f"/app/{org.id}/members")
    assert f'<option value="{role.id}">{role.name}</option>' in page.text
    # When the admin gives them the custom role with their row's form
    response = await browser.post(
        f"/app/{org.id}/members/{mary.id}/role",
        data={"csrf_token": csrf_of(page.text), "role": "member", "custom_role_id": str(role.id)},
    )
    # Then they hold it, and the row shows it selected
    assert response.status_code == 303
    found = await membership(db, org, mary)
    assert found is not None and (found.role, found.custom_role_id) == ("member", role.id)
    after = rows((await browser.get(f"/app/{org.id}/members")).text, "member-row")
    assert f'<option value="{role.id}" selected>' in after[1]


async def test_change_role__last_admin_demotes_self__409_refusal_at_the_row(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given the organization's only admin
    org, admin = await admin_of(browser, db)
    # When they try to make themselves a member
    response = await submit(
        browser, f"/app/{org.id}/members", f"/app/{org.id}/members/{admin.id}/role", role="member"
    )
    # Then the members page says why, at their row, and nothing changed
    assert response.status_code == 409
    [row] = rows(response.text, "member-row")
    assert 'data-testid="member-0-error"' in row and "last admin" in row
    found = await membership(db, org, admin)
    assert found is not None and found.role == "admin"


async def test_change_role__manager_gives_admin__role_too_high_at_the_row(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a manager whose custom role lets them change members, and a user
    admin = await make_user(db)
    org = await make_org(db, admin, plan="professional")
    manager = await make_user(db, name="Max Manager")
    held = await add_member(db, org, manager, role="manager")
    await grant_custom_role(db, org, held, "users:update")
    user = await make_user(db, name="Uma User")
    await add_member(db, org, user, role="user")
    await log_in(browser, manager.email)
    # When the manager forges a promotion to admin
    response = await submit(
        browser, f"/app/{org.id}/members", f"/app/{org.id}/members/{user.id}/role", role="admin"
    )
    # Then the refusal is shown at the row, and the select never offered it
    assert response.status_code == 403
    assert "above your own" in response.text
    assert '<option value="admin"' not in response.text
    found = await membership(db, org, user)
    assert found is not None and found.role == "user"


async def test_remove_member__confirm_page_then_post__gone_audited(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    org, _admin = await admin_of(browser, db)
    mary = await make_user(db, name="Mary Member")
    await add_member(db, org, mary)
    remove = f"/app/{org.id}/members/{mary.id}/remove"
    confirm = await browser.get(remove)
    assert confirm.status_code == 200 and "Remove Mary Member?" in confirm.text
    response = await browser.post(remove, data={"csrf_token": csrf_of(confirm.text)})
    assert response.status_code == 303
    assert await membership(db, org, mary) is None
    assert "member.removed" in await audit_actions(db, org)


async def test_remove_member__last_admin__409_at_the_row(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    org, admin = await admin_of(browser, db)
    response = await submit(
        browser, f"/app/{org.id}/members", f"/app/{org.id}/members/{admin.id}/remove"
    )
    assert response.status_code == 409 and "last admin" in response.text
    assert await membership(db, org, admin) is not None


async def test_member_role__403_on_invite_and_pages_and_no_admin_nav(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a plain member
    admin = await make_user(db)
    org = await make_org(db, admin)
    member = await make_user(db)
    await add_member(db, org, member, role="member")
    await log_in(browser, member.email)
    dashboard = await browser.get(f"/app/{org.id}/dashboard")
    # When they post an invitation, or open the admin pages
    invite = await browser.post(
        f"/app/{org.id}/invitations",
        data={"csrf_token": csrf_of(dashboard.text), "email": "x@example.com", "role": "guest"},
    )
    # Then each is the 403 page, and the navigation does not offer them
    assert_problem_page(invite, 403)
    assert "users:create" in invite.text
    for page in ("members", "teams", "access", "settings"):
        assert_problem_page(await browser.get(f"/app/{org.id}/{page}"), 403)
    shown = nav_ids(dashboard.text, "nav-")
    assert not shown & {"nav-members", "nav-teams", "nav-access", "nav-settings"}
    assert await invitations_of(db, org) == []


async def test_invite__admin_past_mfa_grace_without_mfa__403_page_as_the_api(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given an admin for longer than the grace period, without two-factor authentication
    org, admin = await admin_of(browser, db)
    held = await membership(db, org, admin)
    assert held is not None
    await tenancy.enter_tenant(db, org.id)
    held.joined_at = clock.now() - timedelta(days=30)
    await db.flush()
    # When they invite someone from the members page
    response = await submit(
        browser, f"/app/{org.id}/members", f"/app/{org.id}/invitations", email="x@example.com"
    )
    # Then it is refused as the API refuses it, until they turn two-factor on
    assert_problem_page(response, 403)
    assert 'data-code="mfa_enrollment_required"' in response.text
    assert await invitations_of(db, org) == []


async def test_invite__no_csrf_token__403_and_nothing_sent(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    org, _admin = await admin_of(browser, db)
    await browser.get(f"/app/{org.id}/members")
    response = await browser.post(
        f"/app/{org.id}/invitations", data={"email": "planted@example.com", "role": "member"}
    )
    assert_problem_page(response, 403)
    assert "Form expired" in response.text
    assert await invitations_of(db, org) == []


# ---- teams -----------------------------------------------------------------------------------


async def test_teams__create_rename_add_remove_member_delete__each_through_the_service(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given an admin and a member
    org, _admin = await admin_of(browser, db)
    mary = await make_user(db, name="Mary Member")
    await add_member(db, org, mary)
    teams_page = f"/app/{org.id}/teams"
    # When they create a team
    created = await submit(browser, teams_page, teams_page, name="Engines")
    assert created.status_code == 303
    [team] = await fresh(db, select(Team).where(Team.organization_id == org.id))
    detail = f"/app/{org.id}/teams/{team.id}"
    assert created.headers["location"] == detail
    assert text_at((await browser.get(teams_page)).text, "team-0-link") == "Engines"
    # And rename it, and add the member
    renamed = await submit(browser, detail, f"{detail}/rename", name="Difference Engines")
    assert renamed.status_code == 303
    added = await submit(browser, detail, f"{detail}/members", user_id=str(mary.id))
    assert added.status_code == 303
    page = await browser.get(detail)
    assert text_at(page.text, "team-title") == "Difference Engines"
    [row] = rows(page.text, "team-member-row")
    assert "Mary Member" in row
    found = await membership(db, org, mary)
    assert found is not None and found.team_id == team.id
    # And take the member out again, then delete the team (confirmed)
    removed = await submit(browser, detail, f"{detail}/members/{mary.id}/remove")
    assert removed.status_code == 303
    found = await membership(db, org, mary)
    assert found is not None and found.team_id is None
    confirm = await browser.get(f"{detail}/delete")
    assert confirm.status_code == 200 and "Difference Engines" in confirm.text
    deleted = await browser.post(f"{detail}/delete", data={"csrf_token": csrf_of(confirm.text)})
    # Then the team is gone, and every step was audited
    assert deleted.status_code == 303 and deleted.headers["location"] == teams_page
    assert await fresh(db, select(Team).where(Team.organization_id == org.id)) == []
    actions = await audit_actions(db, org)
    assert {"team.created", "team.updated", "team.deleted", "member.updated"} <= set(actions)


async def test_teams__blank_name_422_taken_name_409__at_the_field(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    org, _admin = await admin_of(browser, db)
    await make_team(db, org, name="Taken")
    page = f"/app/{org.id}/teams"
    blank = await submit(browser, page, page, name="  ")
    assert blank.status_code == 422 and 'id="name-error"' in blank.text
    taken = await submit(browser, page, page, name="Taken")
    assert taken.status_code == 409 and "already exists" in taken.text


# ---- roles and access ------------------------------------------------------------------------


async def test_custom_role_and_policy__created_through_the_forms(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given an admin of an organization whose plan includes custom roles
    org, _admin = await admin_of(browser, db, plan="professional")
    access = f"/app/{org.id}/access"
    # When they create a custom role granting two permissions
    role = await submit(
        browser,
        f"{access}/roles/new",
        f"{access}/roles",
        name="Auditor",
        description="Reads the audit log",
        **{"scope.audit:read": "organization", "scope.documents:read": "team"},
    )
    assert role.status_code == 303, role.text
    # And an access policy with a condition
    conditions = '[{"type": "ip_in", "cidrs": ["10.0.0.0/8"]}]'
    policy = await submit(
        browser,
        f"{access}/policies/new",
        f"{access}/policies",
        name="Office only",
        permission="documents:read",
        effect="allow",
        conditions=conditions,
        enabled="on",
    )
    assert policy.status_code == 303, policy.text
    # Then both exist as the API would have stored them, audited, and are listed
    [stored_role] = await fresh(db, select(CustomRole).where(CustomRole.organization_id == org.id))
    assert sorted(g["permission"] for g in stored_role.grants) == ["audit:read", "documents:read"]
    [stored] = await fresh(db, select(AccessPolicy).where(AccessPolicy.organization_id == org.id))
    assert (stored.resource_type, stored.action, stored.effect) == ("documents", "read", "allow")
    assert stored.conditions == [{"type": "ip_in", "cidrs": ["10.0.0.0/8"]}]
    assert {"custom_role.created", "access_policy.created"} <= set(await audit_actions(db, org))
    html = (await browser.get(access)).text
    assert len(rows(html, "custom-role-row")) == 1 and len(rows(html, "policy-row")) == 1


async def test_custom_role_and_policy__edited_then_deleted_through_the_pages(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a custom role and a policy
    org, _admin = await admin_of(browser, db, plan="professional")
    role, policy = await _role_and_policy(db, org)
    access = f"/app/{org.id}/access"
    # When the admin renames the role with other grants, and disables the policy
    edit = await browser.get(f"{access}/roles/{role.id}")
    assert 'value="organization" selected' in edit.text  # audit:read, as stored
    saved = await submit(
        browser,
        f"{access}/roles/{role.id}",
        f"{access}/roles/{role.id}",
        name="Reader",
        **{"scope.documents:read": "own"},
    )
    assert saved.status_code == 303, saved.text
    disabled = await submit(
        browser,
        f"{access}/policies/{policy.id}",
        f"{access}/policies/{policy.id}",
        name="Theirs",
        effect="deny",
        conditions="[]",
    )
    assert disabled.status_code == 303, disabled.text
    [stored_role] = await fresh(db, select(CustomRole).where(CustomRole.id == role.id))
    assert (stored_role.name, stored_role.grants) == (
        "Reader",
        [{"permission": "documents:read", "scope": "own"}],
    )
    [stored] = await fresh(db, select(AccessPolicy).where(AccessPolicy.id == policy.id))
    assert stored.enabled is False
    # And deletes both, confirmed on the pages a browser without JavaScript gets
    for target in (f"{access}/roles/{role.id}/delete", f"{access}/policies/{policy.id}/delete"):
        deleted = await submit(browser, target, target)
        assert deleted.status_code == 303 and deleted.headers["location"] == access
    # Then both are gone, every step audited
    assert await fresh(db, select(CustomRole).where(CustomRole.id == role.id)) == []
    assert await fresh(db, select(AccessPolicy).where(AccessPolicy.id == policy.id)) == []
    actions = set(await audit_actions(db, org))
    assert {"custom_role.updated", "custom_role.deleted"} <= actions
    assert {"access_policy.updated", "access_policy.deleted"} <= actions


async def test_policy__conditions_not_json_or_not_the_schema__422_at_the_field(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    org, _admin = await admin_of(browser, db)
    new, action = f"/app/{org.id}/access/policies/new", f"/app/{org.id}/access/policies"
    base = {"name": "P", "permission": "documents:read", "effect": "deny"}
    not_json = await submit(browser, new, action, conditions="[{oops", **base)
    assert not_json.status_code == 422
    assert 'id="conditions-error"' in not_json.text and "Not valid JSON" in not_json.text
    wrong = await submit(browser, new, action, conditions='[{"type": "moon"}]', **base)
    assert wrong.status_code == 422 and 'id="conditions-error"' in wrong.text
    assert await fresh(db, select(AccessPolicy).where(AccessPolicy.organization_id == org.id)) == []


async def test_custom_roles__plan_without_them__page_offers_the_upgrade(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    org, _admin = await admin_of(browser, db)
    html = (await browser.get(f"/app/{org.id}/access")).text
    assert 'data-testid="custom-roles-upgrade"' in html
    assert 'data-testid="new-role"' not in html


async def test_explain__member_and_permission__decision_and_reasons_shown(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a plain member
    org, _admin = await admin_of(browser, db)
    mary = await make_user(db, name="Mary Member")
    await add_member(db, org, mary, role="member")
    access = f"/app/{org.id}/access"
    # When the admin asks whether they may delete documents, then read them
    denied = await submit(
        browser, access, f"{access}/explain", user_id=str(mary.id), permission="documents:delete"
    )
    allowed = await submit(
        browser, access, f"{access}/explain", user_id=str(mary.id), permission="documents:read"
    )
    # Then each answer is shown with its reasons
    assert denied.status_code == 200 and 'data-testid="explain-result"' in denied.text
    assert ">Denied<" in denied.text and "No grant" in denied.text
    assert allowed.status_code == 200 and ">Allowed<" in allowed.text
    assert "documents:read at organization scope" in allowed.text


async def test_explain__no_member_chosen__422_at_the_field(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    org, _admin = await admin_of(browser, db)
    access = f"/app/{org.id}/access"
    response = await submit(
        browser, access, f"{access}/explain", user_id="", permission="documents:read"
    )
    assert response.status_code == 422 and 'id="user_id-error"' in response.text


# ---- organization settings -------------------------------------------------------------------


async def test_settings__saved_audited_and_onboarding_step_done(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given an admin who has not done the "organization details" onboarding step
    org, admin = await admin_of(browser, db)
    page = f"/app/{org.id}/settings"
    # When they save the organization's details
    response = await submit(
        browser,
        page,
        page,
        name="Engines Ltd",
        slug="engines-ltd",
        industry="Computing",
        team_size="2-10",
    )
    # Then the details are saved (audited, published) and the step is done
    assert response.status_code == 303 and response.headers["location"] == page
    [saved] = await fresh(db, select(Organization).where(Organization.id == org.id))
    assert (saved.name, saved.slug, saved.industry, saved.team_size) == (
        "Engines Ltd",
        "engines-ltd",
        "Computing",
        "2-10",
    )
    assert "organization.updated" in await audit_actions(db, org)
    assert await event_payloads(db, org, "organization.updated")
    [user] = await fresh(db, select(User).where(User.id == admin.id))
    assert (user.onboarding_steps or {}).get("organization_details") == "done"
    assert 'value="Engines Ltd"' in (await browser.get(page)).text


async def test_settings__bad_slug_422__at_the_field_nothing_saved(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    org, _admin = await admin_of(browser, db)
    page = f"/app/{org.id}/settings"
    response = await submit(browser, page, page, name="Same", slug="Not A Slug")
    assert response.status_code == 422 and 'id="slug-error"' in response.text
    [saved] = await fresh(db, select(Organization).where(Organization.id == org.id))
    assert saved.name == "Analytical Engines"


async def test_delete_organization__wrong_password_400_then_right__deleted(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    org, _admin = await admin_of(browser, db)
    delete = f"/app/{org.id}/settings/delete"
    wrong = await submit(browser, delete, delete, password="not it")
    assert wrong.status_code == 400 and 'id="password-error"' in wrong.text
    right = await submit(browser, delete, delete, password=PASSWORD)
    assert right.status_code == 303 and right.headers["location"] == "/app"
    assert await fresh(db, select(Organization).where(Organization.id == org.id)) == []


# ---- tenancy ---------------------------------------------------------------------------------


async def test_another_tenants_objects__404_pages(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given another tenant's member, team, invitation, custom role and policy
    other_admin = await make_user(db)
    other = await make_org(db, other_admin, plan="professional")
    stranger = await make_user(db)
    await add_member(db, other, stranger)
    team = await make_team(db, other)
    invitation, _token = await make_invitation(db, other)
    role, policy = await _role_and_policy(db, other)
    # And a signed-in admin of their own organization
    org, _admin = await admin_of(browser, db, plan="professional")
    own = f"/app/{org.id}"
    token = csrf_of((await browser.get(f"{own}/members")).text)
    # When they reach those objects through their own organization, or the other one's
    gets = [
        f"/app/{other.id}/members",
        f"{own}/teams/{team.id}",
        f"{own}/members/{stranger.id}/remove",
        f"{own}/invitations/{invitation.id}/revoke",
        f"{own}/access/roles/{role.id}",
        f"{own}/access/policies/{policy.id}",
    ]
    posts = [
        f"{own}/members/{stranger.id}/role",
        f"{own}/members/{stranger.id}/remove",
        f"{own}/teams/{team.id}/rename",
        f"{own}/teams/{team.id}/delete",
        f"{own}/invitations/{invitation.id}/revoke",
        f"{own}/access/roles/{role.id}/delete",
        f"{own}/access/policies/{policy.id}/delete",
        f"/app/{other.id}/invitations",
    ]
    # Then every one is the 404 page, and nothing of theirs changed
    for url in gets:
        assert_problem_page(await browser.get(url), 404)
    for url in posts:
        response = await browser.post(url, data={"csrf_token": token, "role": "member"})
        assert_problem_page(response, 404)
    assert await membership(db, other, stranger) is not None
    assert len(await fresh(db, select(Team).where(Team.id == team.id))) == 1


# ---- helpers ---------------------------------------------------------------------------------


async def _role_and_policy(db: AsyncSession, org: Organization) -> tuple[CustomRole, AccessPolicy]:
    """A custom role (audit:read) and a deny policy, written straight to the tables."""
    await tenancy.enter_tenant(db, org.id)
    role = CustomRole(
        organization_id=org.id,
        name=f"Role {uuid.uuid4().hex[:6]}",
        grants=[{"permission": "audit:read", "scope": "organization"}],
    )
    policy = AccessPolicy(
        organization_id=org.id,
        name="Theirs",
        resource_type="documents",
        action="read",
        effect="deny",
        conditions=[],
        enabled=True,
    )
    db.add_all([role, policy])
    await db.flush()
    return role, policy
