"""The workspace in Chromium: the free plan's project limit opening the upgrade prompt over
the projects page, a document's life through the pages (its delete by keyboard alone), the
onboarding checklist updated in place, and every workspace page under axe in both themes."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import SCHEMES, AxeViolations, Member, Screenshot, new_context
from tests.e2e.support import focused_test_id, new_visitor, no_violations, sign_up, tab_to
from tests.helpers.servers import Server


def org_path(dashboard_url: str) -> str:
    """``/app/{org_id}`` of a dashboard's URL."""
    found = re.search(r"/app/[^/]+", dashboard_url)
    assert found is not None, dashboard_url
    return found.group(0)


async def in_dialog(page: Page, testid: str) -> bool:
    script = "(id) => !!document.activeElement?.closest(`dialog[data-testid=${id}]`)"
    return bool(await page.evaluate(script, testid))


async def create_project(page: Page, name: str) -> None:
    """By the "New project" form (sent by htmx: a success goes to the new project)."""
    await page.get_by_test_id("new-project-button").click()
    await page.get_by_test_id("project-name-input").fill(name)
    await page.get_by_test_id("create-project-button").click()
    await expect(page.get_by_test_id("project-name")).to_have_text(name)


async def test_projects__free_plans_fourth_project__upgrade_modal_over_the_page(
    page: Page, screenshot: Screenshot
) -> None:
    # Given a new sign-up (free plan: 3 projects, the sample project is the first) who
    # created two more through the page
    await sign_up(page, new_visitor(name="Fay Free"))
    projects = org_path(page.url) + "/projects"
    for name in ("Second", "Third"):
        await page.goto(projects)
        await create_project(page, name)
    await page.goto(projects)

    # When they submit a fourth from the keyboard
    await page.get_by_test_id("new-project-button").click()
    await page.get_by_test_id("project-name-input").fill("Fourth")
    await page.get_by_test_id("create-project-button").focus()
    await page.keyboard.press("Enter")

    # Then the upgrade prompt opens over the projects page, focus inside it, with its three
    # ways out
    modal = page.get_by_test_id("upgrade-modal")
    await expect(modal).to_be_visible()
    await expect(page).to_have_url(re.compile(re.escape(projects) + "$"))
    assert await in_dialog(page, "upgrade-modal")
    for action in ("upgrade-now", "upgrade-learn-more", "upgrade-later"):
        await expect(modal.get_by_test_id(action)).to_be_visible()
    await expect(modal.get_by_test_id("upgrade-now")).to_have_attribute(
        "href", org_path(page.url) + "/plan#upgrade"
    )
    await screenshot(page, "workspace-upgrade-modal")

    # When Escape is pressed, Then it closes and focus is back on the submit button
    await page.keyboard.press("Escape")
    await expect(modal).to_be_hidden()
    assert await focused_test_id(page) == "create-project-button"

    # When it is sent again and "Maybe later" chosen, Then the same
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("upgrade-modal")).to_be_visible()
    await page.get_by_test_id("upgrade-later").click()
    await expect(page.get_by_test_id("upgrade-modal")).to_be_hidden()
    assert await focused_test_id(page) == "create-project-button"
    await expect(page.get_by_test_id("project-0-link")).to_have_text("Third")


async def test_document__create_edit_then_delete_by_keyboard__gone(page: Page) -> None:
    # Given a new user on the sample project's page
    await sign_up(page, new_visitor(name="Dora Docs"))
    await page.goto(org_path(page.url) + "/projects")
    await page.get_by_test_id("project-0-link").click()
    await expect(page.get_by_test_id("project-name")).to_have_text("Demo project")

    # When they add a document
    await page.get_by_test_id("new-document-button").click()
    await page.get_by_test_id("document-title-input").fill("Field notes")
    await page.get_by_test_id("document-body-input").fill("First line\nSecond line")
    await page.get_by_test_id("document-classification").select_option("confidential")
    await page.get_by_test_id("add-document-button").click()

    # Then it is listed first; When they open it and change its title
    await expect(page.get_by_test_id("document-0-link")).to_have_text("Field notes")
    await page.get_by_test_id("document-0-link").click()
    await expect(page.get_by_test_id("document-body-input")).to_have_value(
        "First line\nSecond line"
    )
    await page.get_by_test_id("document-title-input").fill("Field notes, revised")
    await page.get_by_test_id("save-document-button").click()

    # Then the page shows the new title and says it was saved
    await expect(page.get_by_test_id("document-title")).to_have_text("Field notes, revised")
    await expect(page.get_by_test_id("toast")).to_contain_text("Document saved.")
    document_url = page.url

    # When they delete it with the keyboard alone: Tab to "Delete document", Enter, Tab to
    # the confirmation's button, Enter
    await tab_to(page, "delete-document-open", limit=60)
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("delete-document")).to_be_visible()
    assert await in_dialog(page, "delete-document")
    await tab_to(page, "delete-document-confirm", limit=5)
    await page.keyboard.press("Enter")

    # Then they are back on the project, the document gone
    await expect(page.get_by_test_id("project-name")).to_have_text("Demo project")
    await expect(page.get_by_test_id("toast")).to_contain_text("Document deleted.")
    await expect(page.get_by_text("Field notes, revised")).to_have_count(0)
    gone = await page.goto(document_url)
    assert gone is not None and gone.status == 404


async def test_onboarding__skip_a_step_then_finish_the_tour__checklist_follows(
    page: Page,
) -> None:
    # Given a new user's dashboard with the checklist
    await sign_up(page, new_visitor(name="Otto Onboard"))
    dashboard = page.url
    progress = page.get_by_test_id("onboarding-progress")
    await expect(progress).to_have_text("0 of 3 steps finished")

    # When they skip "integrations" (htmx: the checklist is swapped in place)
    await page.get_by_test_id("onboarding-integrations-skip").click()

    # Then the step says so, the page did not change, and focus is on the checklist
    step = page.get_by_test_id("onboarding-step-integrations")
    await expect(step).to_have_attribute("data-state", "skipped")
    await expect(progress).to_have_text("1 of 3 steps finished")
    await expect(page.get_by_test_id("onboarding-integrations-state")).to_have_text("Skipped")
    await expect(page.locator("#onboarding-title")).to_be_focused()
    assert page.url == dashboard

    # When they open the feature tour from the checklist and finish it
    await page.get_by_test_id("onboarding-feature_tour-link").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Feature tour")
    await page.get_by_test_id("finish-tour-button").click()

    # Then they are back on the dashboard, the tour done
    await expect(page).to_have_url(dashboard)
    await expect(progress).to_have_text("2 of 3 steps finished")
    await expect(page.get_by_test_id("onboarding-step-feature_tour")).to_have_attribute(
        "data-state", "done"
    )

    # When they hide the checklist, Then it is gone, and stays gone
    await page.get_by_test_id("onboarding-hide").click()
    await expect(page.get_by_test_id("onboarding-complete")).to_be_visible()
    await page.reload()
    await expect(page.get_by_test_id("onboarding-checklist")).to_have_count(0)


# ---- axe, both themes --------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def no_projects(browser: Browser, live_server: Server) -> Member:
    """A user whose organization has no project (the sample deleted through its
    confirmation page), signed up once per worker."""
    context = await new_context(browser, live_server.url)
    page = await context.new_page()
    await sign_up(page, new_visitor(name="Ned Empty"))
    dashboard = page.url
    await page.goto(org_path(dashboard) + "/projects")
    await page.get_by_test_id("project-0-link").click()
    await page.goto(page.url + "/delete")
    await page.get_by_test_id("confirm-delete-button").click()
    await expect(page.get_by_test_id("projects-empty")).to_be_visible()
    state = await context.storage_state()
    await context.close()
    return Member(cookies=list(state["cookies"]), dashboard=dashboard)


async def open_workspace_page(page: Page, dashboard: str, name: str) -> None:
    """Go to the page ``name`` of the member's organization (without changing anything)."""
    base = org_path(dashboard)
    if name in ("dashboard", "tour", "projects", "projects-empty"):
        path = {"dashboard": "/dashboard", "tour": "/tour"}.get(name, "/projects")
        await page.goto(base + path)
        return
    await page.goto(base + "/projects?q=demo")
    await page.get_by_test_id("project-0-link").click()
    await expect(page.get_by_test_id("project-name")).to_be_visible()
    if name == "project-delete":
        await page.goto(page.url + "/delete")
    elif name == "document":
        await page.get_by_test_id("document-0-link").click()
        await expect(page.get_by_test_id("document-title-input")).to_be_visible()


@pytest.mark.parametrize("color_scheme", SCHEMES)
@pytest.mark.parametrize(
    "name", ["dashboard", "projects", "project", "document", "project-delete", "tour"]
)
async def test_workspace_page__axe_wcag21aa__no_violations(
    member_page: Page,
    member: Member,
    axe_violations: AxeViolations,
    screenshot: Screenshot,
    name: str,
) -> None:
    # Given a signed-in member, in this colour scheme; When they open the page
    await open_workspace_page(member_page, member.dashboard, name)
    if name == "dashboard":
        await expect(member_page.get_by_test_id("onboarding-checklist")).to_be_visible()

    # Then it has one h1, and axe finds no violation
    await expect(member_page.locator("h1")).to_have_count(1)
    await screenshot(member_page, f"workspace-{name}")
    await no_violations(member_page, axe_violations, name)


@pytest.mark.parametrize("color_scheme", SCHEMES)
async def test_workspace_empty_projects__axe_wcag21aa__no_violations(
    page: Page, no_projects: Member, axe_violations: AxeViolations, screenshot: Screenshot
) -> None:
    await page.context.add_cookies(no_projects.cookies)
    await open_workspace_page(page, no_projects.dashboard, "projects-empty")
    await expect(page.get_by_test_id("projects-empty")).to_be_visible()
    await screenshot(page, "workspace-projects-empty")
    await no_violations(page, axe_violations, "empty projects")


@pytest.mark.parametrize("color_scheme", SCHEMES)
async def test_document_delete_modal_open__axe_wcag21aa__no_violations(
    member_page: Page, member: Member, axe_violations: AxeViolations, screenshot: Screenshot
) -> None:
    # Given a document's page with its delete confirmation open (nothing is confirmed)
    await open_workspace_page(member_page, member.dashboard, "document")
    await member_page.get_by_test_id("delete-document-open").click()
    await expect(member_page.get_by_test_id("delete-document")).to_be_visible()
    # Then axe finds no violation
    await screenshot(member_page, "workspace-document-delete-modal")
    await no_violations(member_page, axe_violations, "delete modal")
