"""The workspace pages: projects (list, search, paging, create, edit, delete), documents
(create, read, edit, delete), the onboarding checklist's buttons and the feature tour; each
through the same service as the API, so tenancy, permissions, the plan limit, audit and
events hold here exactly as there."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from keel.access.schemas import OrgAccess
from keel.audit.models import AuditLog
from keel.events.models import EventRecord
from keel.kit import tenancy
from keel.organizations.models import Organization
from keel.projects import service as projects_service
from keel.projects.models import Project
from keel.projects.schemas import DocumentCreate, ProjectCreate
from keel.users.models import User
from tests.flags.builders import counting_queries
from tests.helpers.tenancy import access_for, add_member, make_org, make_user
from tests.web.helpers import csrf_of, log_in, sign_up, text_at

HX = {"HX-Request": "true"}


@dataclass(frozen=True)
class Signed:
    """A signed-in browser's user, organization and that organization's owner."""

    user: User
    org: Organization
    owner: User

    def url(self, path: str = "") -> str:
        return f"/app/{self.org.id}{path}"


async def signed_in(
    browser: httpx.AsyncClient, db: AsyncSession, *, role: str = "admin", plan: str | None = None
) -> Signed:
    """A user logged in to an organization (its creator, or a member of ``role``)."""
    owner = await make_user(db, name="Olive Owner")
    org = await make_org(db, owner, plan=plan)
    user = owner
    if role != "admin":
        user = await make_user(db, name="Rhea Role")
        await add_member(db, org, user, role=role)
    await log_in(browser, user.email)
    return Signed(user, org, owner)


async def signed_up(browser: httpx.AsyncClient, db: AsyncSession) -> Signed:
    """A visitor signed up through the form: a free personal organization with the sample
    project, onboarding not started."""
    email = f"w-{uuid.uuid4().hex[:8]}@example.com"
    response = await sign_up(browser, email=email, name="Wendy Works")
    assert response.status_code == 303, response.text
    org_id = uuid.UUID(response.headers["location"].split("/")[2])
    user = await db.scalar(select(User).where(User.email == email))
    org = await db.get(Organization, org_id)
    assert user is not None and org is not None
    return Signed(user, org, user)


async def owner_access(db: AsyncSession, who: Signed) -> OrgAccess:
    return await access_for(db, who.user, who.org)


async def make_project(db: AsyncSession, org: OrgAccess, name: str) -> Project:
    return await projects_service.create_project(db, org, ProjectCreate(name=name))


async def post(
    browser: httpx.AsyncClient, page: str, action: str, /, *, hx: bool = False, **data: str
) -> httpx.Response:
    """POST ``action`` with the CSRF token of ``page`` (as the form on it would); ``hx``: as
    htmx sends it."""
    shown = await browser.get(page)
    assert shown.status_code == 200, shown.text
    fields = {"csrf_token": csrf_of(shown.text), **data}
    return await browser.post(action, data=fields, headers=HX if hx else {})


def links(html: str, prefix: str) -> list[str]:
    return re.findall(rf'href="({re.escape(prefix)}[^"?]+)"', html)


async def fresh_user(db: AsyncSession, user_id: uuid.UUID) -> User:
    stmt = select(User).where(User.id == user_id).execution_options(populate_existing=True)
    found = await db.scalar(stmt)
    assert found is not None
    return found


# ---- projects ----------------------------------------------------------------------------------


async def test_projects_page__25_projects__two_pages_each_once_and_search_narrows(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given an organization with 25 projects (a plan without a project limit)
    who = await signed_in(browser, db, plan="professional")
    org = await owner_access(db, who)
    for number in range(24):
        await make_project(db, org, f"Alpha {number:02d}")
    await make_project(db, org, "Budget 100%")
    # When the first page is opened, then the "Next page" link followed
    first = await browser.get(who.url("/projects"))
    assert first.status_code == 200
    next_link = re.search(r'href="([^"]+)" data-testid="next-page"', first.text)
    assert next_link is not None
    second = await browser.get(next_link.group(1).replace("&amp;", "&"))
    # Then 20 then 5 projects are listed, newest first, none twice
    prefix = who.url("/projects/")
    seen = links(first.text, prefix) + links(second.text, prefix)
    assert len(links(first.text, prefix)) == 20 and len(seen) == 25 == len(set(seen))
    assert text_at(first.text, "project-0-link") == "Budget 100%"
    assert 'data-testid="next-page"' not in second.text
    # And a search finds by part of the name, case-insensitively, "%" taken literally
    found = await browser.get(who.url("/projects?q=budget"))
    assert links(found.text, prefix) == links(first.text, prefix)[:1]
    assert len(links((await browser.get(who.url("/projects?q=%25"))).text, prefix)) == 1
    missing = await browser.get(who.url("/projects?q=zebra"))
    assert 'data-testid="projects-empty"' in missing.text and "No project matches" in missing.text


async def test_projects_page__no_project__empty_state_and_new_project_form(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    who = await signed_in(browser, db)
    page = await browser.get(who.url("/projects"))
    assert page.status_code == 200
    assert "No projects yet" in page.text
    assert 'data-testid="new-project-button"' in page.text
    assert 'aria-current="page"' in page.text and 'data-testid="nav-projects"' in page.text


async def test_create_project__valid__to_its_page_audited_and_published(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given an admin on the projects page
    who = await signed_in(browser, db)
    # When they create a project
    response = await post(
        browser,
        who.url("/projects"),
        who.url("/projects"),
        name="  Launch  ",
        description="Everything for the launch",
    )
    # Then they land on it, and it was audited and published as through the API
    assert response.status_code == 303
    location = response.headers["location"]
    project_id = location.rsplit("/", 1)[1]
    assert location == who.url(f"/projects/{project_id}")
    page = await browser.get(location)
    assert text_at(page.text, "project-name") == "Launch"
    assert "Everything for the launch" in page.text and "Project “Launch” created." in page.text
    await tenancy.enter_tenant(db, who.org.id)
    entry = await db.scalar(select(AuditLog).where(AuditLog.target_id == project_id))
    assert entry is not None and entry.action == "project.created"
    assert entry.actor_id == str(who.user.id)
    event = await db.scalar(select(EventRecord).where(EventRecord.name == "project.created"))
    assert event is not None and event.payload["project_id"] == project_id


async def test_create_project__blank_name__422_with_the_error_at_the_name(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    who = await signed_in(browser, db)
    response = await post(
        browser, who.url("/projects"), who.url("/projects"), name="   ", description="kept"
    )
    assert response.status_code == 422
    assert 'id="name-error"' in response.text and 'aria-invalid="true"' in response.text
    assert '<details class="new-item" id="new-project" open>' in response.text
    assert ">kept</textarea>" in response.text
    # And with htmx the same answer: the form is swapped back with its error
    again = await post(browser, who.url("/projects"), who.url("/projects"), hx=True, name="")
    assert again.status_code == 422 and 'id="name-error"' in again.text


async def test_create_project__htmx__204_with_hx_redirect_to_it(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    who = await signed_in(browser, db)
    response = await post(browser, who.url("/projects"), who.url("/projects"), hx=True, name="X")
    assert response.status_code == 204
    assert response.headers["hx-redirect"].startswith(who.url("/projects/"))
    assert "location" not in response.headers


async def test_create_project__free_plan_fourth__402_page_with_upgrade_modal(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a new sign-up (free plan: 3 projects; the sample project is the first)
    who = await signed_up(browser, db)
    for name in ("Second", "Third"):
        made = await post(browser, who.url("/projects"), who.url("/projects"), name=name)
        assert made.status_code == 303, made.text
    # When they create a fourth, with and without htmx
    plain = await post(browser, who.url("/projects"), who.url("/projects"), name="Fourth")
    with_htmx = await post(
        browser, who.url("/projects"), who.url("/projects"), hx=True, name="Fourth"
    )
    # Then both are the 402 page carrying the upgrade prompt (app.js opens it over the page)
    for response in (plain, with_htmx):
        assert response.status_code == 402
        assert response.headers["content-type"].startswith("text/html")
        assert 'data-testid="upgrade-modal"' in response.text
        assert 'data-testid="upgrade-now"' in response.text
        assert f'href="{who.url("/plan#upgrade")}"' in response.text
    listed = await browser.get(who.url("/projects"))
    assert len(links(listed.text, who.url("/projects/"))) == 3


async def test_edit_project__saved__audited_and_blank_name_422(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a project
    who = await signed_in(browser, db)
    project = await make_project(db, await owner_access(db, who), "Old name")
    edit = who.url(f"/projects/{project.id}/edit")
    form = await browser.get(edit)
    assert form.status_code == 200 and 'value="Old name"' in form.text
    # When a blank name is sent, Then the form comes back with the error
    refused = await post(browser, edit, edit, name=" ", description="")
    assert refused.status_code == 422 and 'id="name-error"' in refused.text
    # When a new name is sent, Then it is saved and audited
    saved = await post(browser, edit, edit, name="New name", description="Now described")
    assert saved.status_code == 303
    assert saved.headers["location"] == who.url(f"/projects/{project.id}")
    page = await browser.get(saved.headers["location"])
    assert text_at(page.text, "project-name") == "New name" and "Now described" in page.text
    await tenancy.enter_tenant(db, who.org.id)
    entry = await db.scalar(
        select(AuditLog).where(
            AuditLog.target_id == str(project.id), AuditLog.action == "project.updated"
        )
    )
    assert entry is not None and entry.changes is not None
    assert entry.changes["name"] == {"before": "Old name", "after": "New name"}


async def test_delete_project__confirm_page_then_post__gone_with_its_documents(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a project with a document, and its page offering the delete
    who = await signed_in(browser, db)
    org = await owner_access(db, who)
    project = await make_project(db, org, "Doomed")
    await projects_service.create_document(db, org, project.id, DocumentCreate(title="Inside"))
    page = await browser.get(who.url(f"/projects/{project.id}"))
    delete = who.url(f"/projects/{project.id}/delete")
    assert f'href="{delete}"' in page.text and 'data-testid="delete-project"' in page.text
    # When the confirmation page is opened (no JavaScript) and its form sent
    confirm = await browser.get(delete)
    assert confirm.status_code == 200
    assert "Delete the project “Doomed”?" in confirm.text
    assert f'action="{delete}"' in confirm.text
    response = await browser.post(delete, data={"csrf_token": csrf_of(confirm.text)})
    # Then the project is gone (its page is the 404 page) and the list says so
    assert response.status_code == 303 and response.headers["location"] == who.url("/projects")
    assert "Project “Doomed” deleted." in (await browser.get(who.url("/projects"))).text
    gone = await browser.get(who.url(f"/projects/{project.id}"))
    assert gone.status_code == 404 and 'data-testid="problem"' in gone.text
    await tenancy.enter_tenant(db, who.org.id)
    assert await db.scalar(
        select(AuditLog).where(
            AuditLog.target_id == str(project.id), AuditLog.action == "project.deleted"
        )
    )


# ---- documents ---------------------------------------------------------------------------------


async def test_document__create_read_edit_delete__through_the_pages(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a project
    who = await signed_in(browser, db)
    project = await make_project(db, await owner_access(db, who), "Docs")
    project_page = who.url(f"/projects/{project.id}")
    # When a document is added on the project's page
    added = await post(
        browser,
        project_page,
        f"{project_page}/documents",
        title="Plan",
        body="line one\r\nline two",
        classification="confidential",
    )
    # Then it is listed first on the project's page
    assert added.status_code == 303 and added.headers["location"] == project_page
    listed = await browser.get(project_page)
    assert text_at(listed.text, "document-0-link") == "Plan"
    [document_url] = links(listed.text, f"{project_page}/documents/")
    # When its page is opened, Then the edit form holds it (LF line breaks, as stored)
    page = await browser.get(document_url)
    assert page.status_code == 200 and text_at(page.text, "document-title") == "Plan"
    assert ">line one\nline two</textarea>" in page.text
    assert '<option value="confidential" selected>' in page.text
    # When it is edited
    saved = await post(
        browser, document_url, document_url, title="Plan v2", body="new", classification="public"
    )
    assert saved.status_code == 303 and saved.headers["location"] == document_url
    page = await browser.get(document_url)
    assert text_at(page.text, "document-title") == "Plan v2" and "Document saved." in page.text
    # When it is deleted after the confirmation page
    confirm = await browser.get(f"{document_url}/delete")
    assert confirm.status_code == 200 and "Delete the document “Plan v2”?" in confirm.text
    deleted = await browser.post(
        f"{document_url}/delete", data={"csrf_token": csrf_of(confirm.text)}
    )
    # Then it is gone
    assert deleted.status_code == 303 and deleted.headers["location"] == project_page
    assert (await browser.get(document_url)).status_code == 404
    await tenancy.enter_tenant(db, who.org.id)
    document_id = document_url.rsplit("/", 1)[1]
    actions = set(
        await db.scalars(select(AuditLog.action).where(AuditLog.target_id == document_id))
    )
    assert actions == {"document.created", "document.updated", "document.deleted"}


async def test_document__blank_title__422_inline_on_create_and_edit(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    who = await signed_in(browser, db)
    org = await owner_access(db, who)
    project = await make_project(db, org, "Docs")
    document = await projects_service.create_document(
        db, org, project.id, DocumentCreate(title="Kept")
    )
    project_page = who.url(f"/projects/{project.id}")
    document_url = f"{project_page}/documents/{document.id}"
    created = await post(
        browser,
        project_page,
        f"{project_page}/documents",
        title=" ",
        body="b",
        classification="internal",
    )
    assert created.status_code == 422 and 'id="title-error"' in created.text
    assert '<details class="new-item" id="new-document" open>' in created.text
    bad_class = await post(
        browser, document_url, document_url, title="Kept", body="", classification="secret"
    )
    assert bad_class.status_code == 422 and 'id="classification-error"' in bad_class.text
    edited = await post(browser, document_url, document_url, title="", body="", classification="")
    assert edited.status_code == 422 and 'id="title-error"' in edited.text


async def test_search_documents__words__only_matches_listed(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    who = await signed_in(browser, db)
    org = await owner_access(db, who)
    project = await make_project(db, org, "Docs")
    for title in ("Harbour report", "Garden notes"):
        await projects_service.create_document(db, org, project.id, DocumentCreate(title=title))
    page = await browser.get(who.url(f"/projects/{project.id}?q=harbour"))
    assert page.status_code == 200
    assert text_at(page.text, "document-0-link") == "Harbour report"
    assert "Garden notes" not in page.text
    none = await browser.get(who.url(f"/projects/{project.id}?q=zebra"))
    assert 'data-testid="documents-empty"' in none.text


# ---- tenancy and permissions -------------------------------------------------------------------


async def test_another_tenants_project_and_document__404_pages(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given another tenant's project and document
    other_owner = await make_user(db)
    other = await make_org(db, other_owner)
    other_access = await access_for(db, other_owner, other)
    theirs = await make_project(db, other_access, "Theirs")
    document = await projects_service.create_document(
        db, other_access, theirs.id, DocumentCreate(title="Secret")
    )
    who = await signed_in(browser, db)
    token = csrf_of((await browser.get(who.url("/projects"))).text)
    # When a signed-in admin of their own organization reaches for them, in either path
    own_path = who.url(f"/projects/{theirs.id}")
    their_path = f"/app/{other.id}/projects/{theirs.id}"
    document_path = f"/documents/{document.id}"
    answers = [
        await browser.get(own_path),
        await browser.get(own_path + document_path),
        await browser.get(own_path + "/delete"),
        await browser.post(own_path + "/edit", data={"csrf_token": token, "name": "Mine"}),
        await browser.post(own_path + "/delete", data={"csrf_token": token}),
        await browser.post(
            own_path + document_path, data={"csrf_token": token, "title": "Mine", "body": ""}
        ),
        await browser.get(f"/app/{other.id}/projects"),
        await browser.get(their_path + document_path),
        await browser.post(their_path + "/delete", data={"csrf_token": token}),
    ]
    # Then every answer is the 404 page, never a 403, and nothing changed
    for response in answers:
        assert response.status_code == 404, response.request.url
        assert 'data-testid="problem"' in response.text
        assert "Secret" not in response.text and "Theirs" not in response.text
    await tenancy.enter_tenant(db, other.id)
    assert (await db.get(Project, theirs.id)) is not None


@pytest.mark.parametrize(
    ("path", "fields", "permission"),
    [
        ("/projects", {"name": "Nope"}, "projects:write"),
        ("/projects/{project}/edit", {"name": "Nope"}, "projects:write"),
        ("/projects/{project}/delete", {}, "projects:delete"),
        ("/projects/{project}/documents", {"title": "Nope"}, "documents:write"),
        ("/projects/{project}/documents/{document}/delete", {}, "documents:delete"),
    ],
)
async def test_guest__any_change__403_page_naming_the_permission(
    browser: httpx.AsyncClient,
    db: AsyncSession,
    path: str,
    fields: dict[str, str],
    permission: str,
) -> None:
    # Given a guest of an organization with a project and a document
    who = await signed_in(browser, db, role="guest")
    org = await access_for(db, who.owner, who.org)
    project = await make_project(db, org, "Shared")
    document = await projects_service.create_document(
        db, org, project.id, DocumentCreate(title="For the guest", shared_with=[who.user.id])
    )
    # When they post a change
    url = who.url(path.format(project=project.id, document=document.id))
    token = csrf_of((await browser.get(who.url("/projects"))).text)
    response = await browser.post(url, data={"csrf_token": token, **fields})
    # Then it is the 403 page naming the permission
    assert response.status_code == 403, response.text
    assert permission in response.text


async def test_member__others_document__read_only_and_no_project_actions(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a member, and a project and document of the admin
    who = await signed_in(browser, db, role="member")
    org = await access_for(db, who.owner, who.org)
    project = await make_project(db, org, "Admin's")
    document = await projects_service.create_document(
        db, org, project.id, DocumentCreate(title="Memo", body="Read me")
    )
    # When the member opens them
    project_page = await browser.get(who.url(f"/projects/{project.id}"))
    document_url = who.url(f"/projects/{project.id}/documents/{document.id}")
    document_page = await browser.get(document_url)
    # Then they read them, without edit or delete (their write scope is their own rows),
    # but may add a document of their own
    assert project_page.status_code == 200 and document_page.status_code == 200
    assert 'data-testid="edit-project-button"' not in project_page.text
    assert 'data-testid="delete-project-open"' not in project_page.text
    assert 'data-testid="new-document-button"' in project_page.text
    assert 'data-testid="save-document-button"' not in document_page.text
    assert 'data-testid="delete-document-open"' not in document_page.text
    assert text_at(document_page.text, "document-body") == "Read me"
    # And a forged edit is refused by the service
    refused = await post(
        browser, document_url, document_url, title="Mine", body="", classification="internal"
    )
    assert refused.status_code == 403


async def test_projects_page__1_or_20_projects__same_number_of_queries(
    browser: httpx.AsyncClient, db: AsyncSession, engine: AsyncEngine
) -> None:
    # Given two organizations of one admin: one project in the first, 20 in the second
    who = await signed_in(browser, db, plan="professional")
    other = await make_org(db, who.user, plan="professional")
    await make_project(db, await owner_access(db, who), "Only")
    many = await access_for(db, who.user, other)
    for number in range(20):
        await make_project(db, many, f"P{number}")
    await browser.get(who.url("/projects"))  # warm the per-process caches alike
    await browser.get(f"/app/{other.id}/projects")
    # When each projects page is rendered
    with counting_queries(engine) as one:
        first = await browser.get(who.url("/projects"))
    with counting_queries(engine) as twenty:
        second = await browser.get(f"/app/{other.id}/projects")
    # Then the count does not grow with the rows (no query per project)
    assert first.status_code == second.status_code == 200
    assert len(links(second.text, f"/app/{other.id}/projects/")) == 20
    assert one.total == twenty.total, (one.statements, twenty.statements)


# ---- dashboard, onboarding and tour ------------------------------------------------------------


async def test_dashboard__new_user__checklist_projects_and_usage(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    who = await signed_up(browser, db)
    page = await browser.get(who.url("/dashboard"))
    assert page.status_code == 200
    html = page.text
    assert text_at(html, "onboarding-progress") == "0 of 3 steps finished"
    for step, target in (
        ("organization_details", "/settings"),
        ("feature_tour", "/tour"),
        ("integrations", "/webhooks"),
    ):
        assert f'href="{who.url(target)}" data-testid="onboarding-{step}-link"' in html
        assert f'data-testid="onboarding-{step}-done"' in html
    assert 'data-testid="dashboard-projects"' in html and "Demo project" in html
    assert 'data-testid="plan-usage"' in html and "Free plan" in html
    assert "1 of 3" in html  # projects used of the free plan's limit
    assert f'href="{who.url("/plan")}"' in html
    assert "autofocus" not in html  # a normal load leaves focus alone


async def test_onboarding__done_then_skip__stored_audited_shown(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a new user's dashboard
    who = await signed_up(browser, db)
    dashboard = who.url("/dashboard")
    # When they mark a step done, and skip another
    done = await post(
        browser, dashboard, "/app/onboarding/organization_details", action="done", next=dashboard
    )
    skipped = await post(
        browser, dashboard, "/app/onboarding/integrations", action="skip", next=dashboard
    )
    # Then both lead back to the dashboard, the steps are stored as the API stores them,
    # audited, and shown with their state
    assert done.status_code == skipped.status_code == 303
    assert done.headers["location"] == dashboard
    user = await fresh_user(db, who.user.id)
    assert user.onboarding_steps == {"organization_details": "done", "integrations": "skipped"}
    entries = await db.scalars(
        select(AuditLog).where(
            AuditLog.target_id == str(who.user.id), AuditLog.action == "user.onboarding_updated"
        )
    )
    assert len(list(entries)) == 2
    html = (await browser.get(dashboard)).text
    assert text_at(html, "onboarding-progress") == "2 of 3 steps finished"
    assert "Connect an integration” skipped." in html
    assert 'data-state="done"' in html and 'data-state="skipped"' in html


async def test_onboarding__htmx__dashboard_answer_focuses_the_checklist(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a new user; When htmx sends a step's form, the redirect is followed
    who = await signed_up(browser, db)
    dashboard = who.url("/dashboard")
    response = await post(
        browser,
        dashboard,
        "/app/onboarding/feature_tour",
        hx=True,
        action="done",
        next=dashboard,
    )
    assert response.status_code == 303
    followed = await browser.get(response.headers["location"], headers=HX)
    # Then the dashboard it answers carries the checklist, focus set on its heading
    assert 'id="onboarding-title" class="card-title" tabindex="-1" autofocus' in followed.text
    assert text_at(followed.text, "onboarding-progress") == "1 of 3 steps finished"


async def test_onboarding__hide_checklist__completed_once_and_hidden(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    who = await signed_up(browser, db)
    dashboard = who.url("/dashboard")
    response = await post(browser, dashboard, "/app/onboarding/skip-all", next=dashboard)
    assert response.status_code == 303
    user = await fresh_user(db, who.user.id)
    assert user.onboarding_completed_at is not None
    assert set((user.onboarding_steps or {}).values()) == {"skipped"}
    completed = await db.scalars(
        select(EventRecord).where(EventRecord.name == "user.onboarding_completed")
    )
    [event] = [e for e in completed if e.payload["user_id"] == str(who.user.id)]
    assert sorted(event.payload["skipped"]) == [
        "feature_tour",
        "integrations",
        "organization_details",
    ]
    html = (await browser.get(dashboard)).text
    assert 'data-testid="onboarding-checklist"' not in html
    assert "Checklist hidden." in html


@pytest.mark.parametrize(
    ("step", "action"), [("not_a_step", "done"), ("feature_tour", "maybe"), ("feature_tour", "")]
)
async def test_onboarding__unknown_step_or_action__422_page_nothing_stored(
    browser: httpx.AsyncClient, db: AsyncSession, step: str, action: str
) -> None:
    who = await signed_up(browser, db)
    response = await post(browser, who.url("/dashboard"), f"/app/onboarding/{step}", action=action)
    assert response.status_code == 422 and 'data-testid="problem"' in response.text
    assert (await fresh_user(db, who.user.id)).onboarding_steps is None


async def test_onboarding__next_to_another_site__back_to_the_app(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    who = await signed_up(browser, db)
    response = await post(
        browser,
        who.url("/dashboard"),
        "/app/onboarding/feature_tour",
        action="skip",
        next="//evil.example/steal",
    )
    assert response.status_code == 303 and response.headers["location"] == "/app"


async def test_onboarding__anonymous__to_the_login_page(browser: httpx.AsyncClient) -> None:
    page = await browser.get("/login")
    response = await browser.post(
        "/app/onboarding/feature_tour", data={"csrf_token": csrf_of(page.text), "action": "done"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/login"


async def test_tour__finish__step_done_and_back_to_the_dashboard(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a new user on the tour
    who = await signed_up(browser, db)
    tour = await browser.get(who.url("/tour"))
    assert tour.status_code == 200
    assert 'data-testid="finish-tour-button"' in tour.text
    assert f'name="next" value="{who.url("/dashboard")}"' in tour.text
    # When they finish it
    response = await post(
        browser,
        who.url("/tour"),
        "/app/onboarding/feature_tour",
        action="done",
        next=who.url("/dashboard"),
    )
    # Then the step is done, and the dashboard's checklist says so
    assert response.status_code == 303
    assert response.headers["location"] == who.url("/dashboard")
    assert (await fresh_user(db, who.user.id)).onboarding_steps == {"feature_tour": "done"}
    html = (await browser.get(who.url("/dashboard"))).text
    assert 'data-testid="onboarding-step-feature_tour" data-state="done"' in html
    assert "Finished" in (await browser.get(who.url("/tour"))).text
