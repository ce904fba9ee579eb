"""The public pages: landing with pricing, sign-up (personal organization with its sample data
in the same request), login with the MFA step, logout; the session cookie and CSRF."""

from __future__ import annotations

import uuid
from http.cookies import SimpleCookie

import httpx
import pyotp
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.auth.models import AuthSession
from keel.config import Settings
from keel.kit.deps import Resources
from keel.kit.schemas import PageParams
from keel.main import create_app
from keel.organizations.schemas import OrganizationCreate
from keel.organizations.service import orgs
from keel.projects import rules as projects_rules
from keel.projects import service as projects_service
from keel.projects.schemas import DocumentFilters, ProjectFilters
from keel.users import service as users_service
from keel.users.models import User
from tests.helpers.tenancy import access_for, make_user
from tests.web.helpers import STRONG_PASSWORD, csrf_of, log_in, sign_up, submit, text_at, with_totp

COOKIE = "__Host-keel_session"


def session_cookie(response: httpx.Response, name: str = COOKIE) -> SimpleCookie:
    header = next(v for v in response.headers.get_list("set-cookie") if v.startswith(name + "="))
    cookie = SimpleCookie()
    cookie.load(header)
    return cookie


async def test_landing__anonymous__signup_link_pricing_and_a_host_cookie(
    browser: httpx.AsyncClient,
) -> None:
    # When an anonymous visitor opens the landing page
    response = await browser.get("/")
    # Then it is the page in English, with the sign-up link and the public plans
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<html lang="en">' in html
    assert 'href="#main"' in html and 'id="main"' in html
    assert 'data-testid="signup-button"' in html and 'href="/signup"' in html
    assert 'data-testid="plan-free"' in html
    # And the session cookie is __Host-, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain
    morsel = session_cookie(response)[COOKIE]
    assert morsel["secure"] and morsel["httponly"]
    assert morsel["samesite"] == "lax"
    assert morsel["path"] == "/"
    assert not morsel["domain"]


async def test_landing__no_third_party__every_asset_served_by_keel(
    browser: httpx.AsyncClient,
) -> None:
    # Given the landing page
    html = (await browser.get("/")).text
    # Then it references no other origin, and its stylesheet and script are served here
    for foreign in ("http://", "https://", '"//'):
        assert foreign not in html
    for asset in ("/static/css/keel.css", "/static/js/theme.js"):
        assert f'"{asset}"' in html
        assert (await browser.get(asset)).status_code == 200


async def test_signup__valid_form__personal_org_with_sample_data_and_dashboard(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # When a visitor signs up
    response = await sign_up(browser, email="ada@example.com", name="Ada Lovelace")
    # Then they are sent to the dashboard of their personal organization, signed in
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/app/") and location.endswith("/dashboard")
    morsel = session_cookie(response)[COOKIE]
    assert morsel["max-age"] and morsel["secure"] and morsel["httponly"]
    # And the organization exists already, the user its admin, with the sample project
    user = await users_service.get_by_email(db, "ada@example.com")
    assert user is not None
    [(org, role)] = await orgs.list_mine(db, user.id)
    assert role == "admin" and str(org.id) in location
    assert org.name == "Ada Lovelace's organization"
    tenant = await access_for(db, user, org)
    [project] = (
        await projects_service.list_projects(db, tenant, ProjectFilters(), PageParams())
    ).items
    assert project.name == projects_rules.SAMPLE_PROJECT["name"]
    documents = await projects_service.list_documents(
        db, tenant, project.id, DocumentFilters(), PageParams()
    )
    assert len(documents.items) == len(projects_rules.SAMPLE_DOCUMENTS)
    # And the dashboard shows the name as entered and the sample documents
    page = await browser.get(location)
    assert page.status_code == 200
    assert text_at(page.text, "user-name") == "Ada Lovelace"
    assert text_at(page.text, "item-0-title") in {
        d["title"] for d in projects_rules.SAMPLE_DOCUMENTS
    }


async def test_signup__no_csrf_token__403_page_and_no_account(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a visitor with a session cookie
    await browser.get("/signup")
    # When the form is posted without its token
    response = await browser.post(
        "/signup", data={"email": "mallory@example.com", "name": "M", "password": STRONG_PASSWORD}
    )
    # Then it is the 403 page, and nothing was created
    assert response.status_code == 403
    assert 'data-code="csrf_failed"' in response.text
    assert await users_service.get_by_email(db, "mallory@example.com") is None


async def test_signup__token_of_another_session__403(
    browser: httpx.AsyncClient, app: FastAPI
) -> None:
    # Given a token taken from another browser's page
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver")
    async with other:
        stolen = csrf_of((await other.get("/signup")).text)
    await browser.get("/signup")
    # When this browser posts it
    response = await browser.post(
        "/signup",
        data={
            "csrf_token": stolen,
            "email": "x@example.com",
            "name": "X",
            "password": STRONG_PASSWORD,
        },
    )
    # Then it is refused
    assert response.status_code == 403


async def test_signup__form_without_cookie__403(browser: httpx.AsyncClient) -> None:
    # A token without the cookie it came from (a cross-site post carries none) is refused.
    token = csrf_of((await browser.get("/signup")).text)
    browser.cookies.clear()
    response = await browser.post("/signup", data={"csrf_token": token, "email": "y@example.com"})
    assert response.status_code == 403


async def test_signup__weak_password__form_again_with_inline_error(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # When the password is too short
    response = await sign_up(browser, email="grace@example.com", name="Grace", password="short")
    # Then the form is shown again, 422, the error next to the password field
    assert response.status_code == 422
    html = response.text
    assert 'id="password-error"' in html
    assert 'aria-describedby="password-hint password-error"' in html
    assert 'aria-invalid="true"' in html
    # And what was typed is kept, except the password, and nothing was created
    assert 'value="grace@example.com"' in html and "short" not in html.split("<form")[1]
    assert await users_service.get_by_email(db, "grace@example.com") is None


async def test_signup__email_taken__409_with_the_message_at_the_email(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given an account
    user = await make_user(db)
    # When someone signs up with its address
    response = await sign_up(browser, email=user.email)
    # Then the form says so at the email field
    assert response.status_code == 409
    assert 'id="email-error"' in response.text and "already exists" in response.text


async def test_signup__signed_in__signup_page_redirects_to_app(browser: httpx.AsyncClient) -> None:
    await sign_up(browser)
    response = await browser.get("/signup")
    assert response.status_code == 303 and response.headers["location"] == "/app"


async def test_login__right_password__signed_in_at_the_first_dashboard(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a user in an organization
    user = await make_user(db, name="Grace Hopper")
    org = await orgs.create(
        db, Actor.system(), user, OrganizationCreate(name=f"Org {uuid.uuid4().hex[:6]}")
    )
    # When they log in
    response = await log_in(browser, user.email)
    # Then /app sends them to their organization's dashboard
    assert response.status_code == 303 and response.headers["location"] == "/app"
    home = await browser.get("/app")
    assert home.status_code == 303 and home.headers["location"] == f"/app/{org.id}/dashboard"
    page = await browser.get(home.headers["location"])
    assert page.status_code == 200
    assert text_at(page.text, "user-name") == "Grace Hopper"


async def test_login__wrong_password__401_form_with_the_message(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await make_user(db)
    response = await log_in(browser, user.email, password="not the password at all")
    assert response.status_code == 401
    assert 'role="alert"' in response.text and "email or password is wrong" in response.text
    assert f'value="{user.email}"' in response.text
    assert (await browser.get("/app")).headers["location"] == "/login"


async def test_login__mfa_enabled__code_step_then_signed_in(
    browser: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a user with TOTP on
    user, secret = await _with_totp(db, settings)
    # When they pass the password step
    response = await log_in(browser, user.email)
    # Then they are asked for the code, not yet signed in
    assert response.status_code == 303 and response.headers["location"] == "/login/mfa"
    assert (await browser.get("/app")).headers["location"] == "/login"
    # When a wrong code, then the right one, is entered
    wrong = await submit(browser, "/login/mfa", code="000000")
    assert wrong.status_code == 401 and 'data-testid="code-input"' in wrong.text
    right = await submit(browser, "/login/mfa", code=pyotp.TOTP(secret).now())
    # Then they are signed in, in a session marked MFA-verified
    assert right.status_code == 303 and right.headers["location"] == "/app"
    assert (await browser.get("/app")).status_code == 200
    verified = await db.scalar(
        select(AuthSession.mfa_verified_at).where(AuthSession.user_id == user.id)
    )
    assert verified is not None


async def test_mfa_page__no_pending_login__back_to_login(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/login/mfa")
    assert response.status_code == 303 and response.headers["location"] == "/login"


async def test_logout__signed_in__session_ended_and_cookie_reset(
    browser: httpx.AsyncClient, db: AsyncSession
) -> None:
    # Given a signed-in browser
    signed_up = await sign_up(browser)
    dashboard = await browser.get(signed_up.headers["location"])
    # When it logs out with the header's form
    response = await browser.post("/logout", data={"csrf_token": csrf_of(dashboard.text)})
    # Then it is home, with an anonymous cookie, and the auth session is revoked
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert session_cookie(response)[COOKIE]["max-age"] == ""
    assert (await browser.get(signed_up.headers["location"])).headers["location"] == "/login"
    revoked = await db.scalars(select(AuthSession.revoked_at))
    assert all(moment is not None for moment in revoked)


async def test_logout__without_token__403_and_still_signed_in(browser: httpx.AsyncClient) -> None:
    signed_up = await sign_up(browser)
    assert (await browser.post("/logout")).status_code == 403
    assert (await browser.get(signed_up.headers["location"])).status_code == 200


async def test_session_cookie__development__bare_name_without_secure(
    settings: Settings, resources: Resources
) -> None:
    # Given the app in development (plain http on 127.0.0.1)
    dev = settings.model_copy(update={"env": "development"})
    dev_resources = Resources(dev, resources.database, resources.cache, resources.broadcast)
    app = create_app(dev, resources=dev_resources, run_worker=False)
    transport = httpx.ASGITransport(app=app)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client,
    ):
        # When a page is opened
        response = await client.get("/login")
    # Then the cookie is keel_session, HttpOnly and Lax, without Secure
    morsel = session_cookie(response, "keel_session")["keel_session"]
    assert not morsel["secure"] and morsel["httponly"] and morsel["samesite"] == "lax"


async def _with_totp(db: AsyncSession, settings: Settings) -> tuple[User, str]:
    user = await make_user(db)
    secret, _codes = await with_totp(db, settings, user)
    return user, secret
