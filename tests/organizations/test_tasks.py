"""The organizations domain's event handlers that tell people: plan limits to the admins,
an invitation to an invitee who has an account, security alerts to the user and (for a
replayed token) their organizations' admins. Each run twice must tell once."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.auth.events import SecurityAlert
from keel.config import Settings
from keel.events import service as events_service
from keel.events.schemas import Event, EventEnvelope
from keel.kit.deps import Resources
from keel.kit.jobs import JobContext
from keel.kit.jobs.models import Job
from keel.notifications import service as notifications_service
from keel.notifications.models import Notification
from keel.organizations import tasks
from keel.organizations.models import Organization
from keel.plans.events import PlanLimitApproached, PlanLimitReached
from keel.users.models import User
from tests.helpers.tenancy import add_member, make_caller, make_org, make_user


async def published(db: AsyncSession, event: Event) -> EventEnvelope:
    event_id = await events_service.publish(db, event)
    envelope = await events_service.get_envelope(db, event_id)
    assert envelope is not None
    return envelope


def context(resources: Resources) -> JobContext:
    return JobContext(uuid.uuid4(), "events.handle", 1, resources)


async def mails(db: AsyncSession) -> list[dict[str, Any]]:
    stmt = select(Job.payload).where(Job.name == notifications_service.SEND_EMAIL_JOB)
    return list((await db.scalars(stmt.order_by(Job.id))).all())


async def inbox(db: AsyncSession, user: User) -> list[Notification]:
    stmt = select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    return list((await db.scalars(stmt)).all())


async def org_with_admins(
    db: AsyncSession, settings: Settings
) -> tuple[Organization, User, User, User]:
    """An organization with two admins and a plain member."""
    first = (await make_caller(db, settings, name="Ada")).user
    org = await make_org(db, first, name="Acme")
    second, member = await make_user(db, name="Grace"), await make_user(db, name="Linus")
    await add_member(db, org, second, role="admin")
    await add_member(db, org, member)
    return org, first, second, member


def reached(org: Organization, **overrides: Any) -> PlanLimitReached:
    fields: dict[str, Any] = {"feature": "max_projects", "limit": 3, "used": 3, "percent": 100.0}
    return PlanLimitReached(organization_id=org.id, plan="free", **{**fields, **overrides})


async def test_limit_reached__handled_twice__each_admin_mailed_and_notified_once(
    db: AsyncSession, settings: Settings, resources: Resources
) -> None:
    # Given an organization at its project limit
    org, ada, grace, linus = await org_with_admins(db, settings)
    envelope = await published(db, reached(org))
    # When the handler runs, and runs again (a retried delivery)
    for _ in range(2):
        await tasks.notify_limit_crossed(db, envelope, context(resources))
    # Then each admin has one usage email and one in-app notice; the member has neither
    sent = await mails(db)
    assert sorted(m["to"] for m in sent) == sorted([ada.email, grace.email])
    assert {m["template"] for m in sent} == {"plan_limit_reached"}
    assert {m["category"] for m in sent} == {"usage"}
    assert sent[0]["context"]["upgrade_url"].endswith(f"/app/orgs/{org.id}/plan")
    assert sent[0]["context"]["limit_label"] == "projects"
    for admin in (ada, grace):
        [notice] = await inbox(db, admin)
        assert notice.kind == "plan.limit_reached" and notice.organization_id == org.id
        assert notice.title == "Acme reached its limit of 3 projects"
        assert notice.link is not None and notice.link.endswith("/plan")
    assert await inbox(db, linus) == []


async def test_limit_approached__admin_unsubscribed_from_usage__notified_in_app_only(
    db: AsyncSession, settings: Settings, resources: Resources
) -> None:
    # Given an admin who turned usage email off
    org, ada, grace, _ = await org_with_admins(db, settings)
    await notifications_service.update_preferences(db, Actor.system(), grace.id, {"usage": False})
    event = PlanLimitApproached(
        organization_id=org.id, feature="max_users", limit=5, used=4, percent=80.0, plan="free"
    )
    # When 80 % is announced
    await tasks.notify_limit_crossed(db, await published(db, event), context(resources))
    # Then only the other admin is mailed, both see it in-app
    assert [(m["to"], m["template"]) for m in await mails(db)] == [
        (ada.email, "plan_limit_warning")
    ]
    [notice] = await inbox(db, grace)
    assert notice.title == "Acme has used 80 % of its users"


async def test_member_invited__invitee_has_an_account__notified_in_app(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, resources: Resources
) -> None:
    # Given an admin inviting one person with an account and one without
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user, name="Acme")
    known = await make_user(db)
    for email in (known.email, "stranger@example.com"):
        answer = await client.post(
            f"/api/v1/orgs/{org.id}/invitations", json={"email": email}, headers=admin.headers
        )
        assert answer.status_code == 201, answer.text
    events = await db.scalars(
        select(Job.payload).where(Job.name == events_service.DISPATCH_JOB).order_by(Job.id)
    )
    envelopes = [await events_service.get_envelope(db, uuid.UUID(p["event_id"])) for p in events]
    invited = [e for e in envelopes if e is not None and e.name == "member.invited"]
    # When the member.invited handler runs for both
    for envelope in invited:
        await tasks.notify_invitee(db, envelope, context(resources))
    # Then the one with an account has a notice naming the organization
    assert len(invited) == 2
    [notice] = await inbox(db, known)
    assert notice.kind == "member.invited" and notice.title == "You were invited to join Acme"
    assert notice.organization_id == org.id and notice.data["role"] == "member"
    invited_notices = await db.scalars(
        select(Notification.id).where(Notification.kind == "member.invited")
    )
    assert list(invited_notices) == [notice.id]


async def test_security_alert__token_reused__user_and_admins_told(
    db: AsyncSession, settings: Settings, resources: Resources
) -> None:
    # Given a member of an organization with two admins
    org, ada, grace, linus = await org_with_admins(db, settings)
    alert = SecurityAlert(kind="refresh_token_reused", user_id=linus.id, ip="203.0.113.7")
    envelope = await published(db, alert)
    # When the handler runs twice
    for _ in range(2):
        await tasks.notify_security_alert(db, envelope, context(resources))
    # Then the user gets the essential email and a notice; each admin the same, naming him
    sent = await mails(db)
    assert sorted(m["to"] for m in sent) == sorted([linus.email, ada.email, grace.email])
    assert {m["template"] for m in sent} == {"security_alert"}
    assert all("category" not in m for m in sent)  # essential: no unsubscribe
    to_admin = next(m for m in sent if m["to"] == ada.email)
    assert (
        to_admin["context"]["member"] == "Linus" and to_admin["context"]["organization"] == "Acme"
    )
    [mine] = await inbox(db, linus)
    assert mine.kind == "security.alert" and mine.data == {
        "kind": "refresh_token_reused",
        "ip": "203.0.113.7",
    }
    for admin in (ada, grace):
        [notice] = await inbox(db, admin)
        assert notice.title == "Security alert for Linus" and notice.organization_id == org.id


async def test_security_alert__account_locked__user_notified_in_app_only(
    db: AsyncSession, settings: Settings, resources: Resources
) -> None:
    # Given a lock of a member's account (auth has mailed them the unlock link already)
    _, ada, _, linus = await org_with_admins(db, settings)
    envelope = await published(db, SecurityAlert(kind="account_locked", user_id=linus.id))
    # When the handler runs
    await tasks.notify_security_alert(db, envelope, context(resources))
    # Then no second email, an in-app notice for him, and nothing for the admins
    assert await mails(db) == []
    [notice] = await inbox(db, linus)
    assert notice.title == "Account locked after failed logins"
    assert await inbox(db, ada) == []
