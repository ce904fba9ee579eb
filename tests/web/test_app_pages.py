"""The signed-in pages: /app, the dashboard (tenant-isolated) and its document form."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.auth.service import sessions
from keel.kit.cache import Cache
from keel.organizations.models import Organization
from keel.organizations.schemas import OrganizationCreate
from keel.organizations.service import orgs
from keel.users.models import User
from tests.helpers.tenancy import add_member, make_org, make_user
from tests.web.helpers import csrf_of, log_in, sign_up, text_at


async def signed_up(browser: httpx.AsyncClient, **fields: str) -> str:
    """Sign up and return the dashboard's URL."""
    response = await sign_up(browser, **fields)
    assert response.status_code == 303, response.text
    return response.headers["location"]


async def add_document(browser: httpx.AsyncClient, dashboard: str, title: str) -> httpx.Response:
    page = await browser.get(dashboard)
    action = dashboard.removesuffix("dashboard") + "documents"
    return await browser.post(action, data={"csrf_token": csrf_of(page.text), "title": title})


async def test_app__anonymous__redirect_to_login(browser: httpx.AsyncClient) -> None:
    for path in ("/app", "/app/0190b5a0-0000-7000-8000-000000000000/dashboard"):
        response = await browser.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/login"


async def test_dashboard__seed_journey__new_item_first_with_its_title(
    browser: httpx.AsyncClient,
) -> None:
    # Given a new user on their dashboard
    dashboard = await signed_up(browser, name="Ada Lovelace")
    page = await browser.get(dashboard)
    assert 'data-testid="create-item-button"' in page.text
    assert 'data-testid="item-title"' in page.text and 'name="title"' in page.text
    assert 'data-testid="save-item-button"' in page.text
    # When they save a new item
    response = await add_document(browser, dashboard, "Quarterly plan")
    # Then they are back on the dashboard, the new item first
    assert response.status_code == 303 and response.headers["location"] == dashboard
    after = await browser.get(dashboard)
    assert text_at(after.text, "item-0-title") == "Quarterly plan"
    assert text_at(after.text, "item-1-title") is not None
    assert text_at(after.text, "user-name") == "Ada Lovelace"


async def test_dashboard__title_escaped__markup_shown_as_text(browser: httpx.AsyncClient) -> None:
    dashboard = await signed_up(browser)
    await add_document(browser, dashboard, "<script>alert(1)</script>")
    html = (await browser.get(dashboard)).text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_create_document__blank_title__422_with_the_error_at_the_title(
    browser: httpx.AsyncClient,
) -> None:
    dashboard = await signed_up(browser)
    response = await add_document(browser, dashboard, "   ")
    assert response.status_code == 422
    assert 'id="title-error"' in response.text
    assert '<details class="new-item" open>' in response.text


async def test_create_document__no_csrf_token__403_and_nothing_added(
    browser: httpx.AsyncClient,
) -> None:
    dashboard = await signed_up(browser)
    before = text_at((await browser.get(dashboard)).text, "item-0-title")
    action = dashboard.removesuffix("dashboard") + "documents"
    response = await browser.post(action, data={"title": "Planted"})
    assert response.status_code == 403
    assert text_at((await browser.get(dashboard)).text, "item-0-title") == before


async def test_dashboard__another_tenants_org__404_page(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given another tenant's organization
    other = await make_org(db, await make_user(db))
    own = await signed_up(browser)
    # When a signed-in user opens its dashboard or posts to it
    page = await browser.get(f"/app/{other.id}/dashboard")
    token = csrf_of((await browser.get(own)).text)
    post = await browser.post(
        f"/app/{other.id}/documents", data={"csrf_token": token, "title": "Planted"}
    )
    # Then both are the 404 page, never a 403
    for response in (page, post):
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert 'data-testid="problem"' in response.text


async def test_create_document__guest_role__403_page(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a guest (may read shared documents, may not write)
    org, guest = await _org_with(db, role="guest")
    await log_in(browser, guest.email)
    page = await browser.get(f"/app/{org.id}/dashboard")
    assert page.status_code == 200
    # When they post a document
    response = await browser.post(
        f"/app/{org.id}/documents", data={"csrf_token": csrf_of(page.text), "title": "Nope"}
    )
    # Then it is the 403 page naming the permission
    assert response.status_code == 403
    assert "documents:write" in response.text


async def test_app__session_revoked_elsewhere__back_to_login(
    browser: httpx.AsyncClient, db: AsyncSession, cache: Cache
) -> None:
    # Given a signed-in browser
    user = await make_user(db)
    await orgs.create(db, Actor.system(), user, OrganizationCreate(name="Solo"))
    await log_in(browser, user.email)
    assert (await browser.get("/app")).status_code == 303
    # When its session is ended (signed out everywhere, e.g. through the API)
    await sessions.revoke_all(db, Actor.system(), user.id, reason="test", cache=cache)
    # Then its cookie no longer opens the app
    response = await browser.get("/app")
    assert response.status_code == 303 and response.headers["location"] == "/login"
    # And the login page shows its form (the dead session's cookie is gone: no loop back to /app)
    login = await browser.get("/login")
    assert login.status_code == 200, login.headers.get("location")


async def test_app__no_organization__empty_state(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await make_user(db, name="Loner")
    await log_in(browser, user.email)
    response = await browser.get("/app")
    assert response.status_code == 200
    assert "not in an organization" in response.text
    assert text_at(response.text, "user-name") == "Loner"


async def _org_with(db: AsyncSession, *, role: str) -> tuple[Organization, User]:
    org = await make_org(db, await make_user(db))
    user = await make_user(db)
    await add_member(db, org, user, role=role)
    return org, user
