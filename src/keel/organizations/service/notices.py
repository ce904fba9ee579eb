"""What people hear, by email and in their in-app inbox, when something happens to them or
to an organization they run. Called by the event handlers of ``organizations.tasks``:
organizations sits above plans, auth's events and notifications, so it can read the admins
and write to them.

=======================  ==================================================================
event                    who hears
=======================  ==================================================================
plan.limit_approached    each admin of the organization: ``plan_limit_warning`` email
                         (category ``usage``) and an in-app notice with the upgrade link
plan.limit_reached       the same with ``plan_limit_reached``
member.invited           the invitee, in-app, if they already have an account (the email
                         itself is sent by the invitation)
security.alert           the user, in-app, always; by email for ``refresh_token_reused``
                         (``account_locked`` mails them from auth already, with the unlock
                         link). The admins of each of the user's organizations, by email
                         and in-app, for ``refresh_token_reused`` only: a replayed token
                         means someone else may have held a session that could read the
                         organization's data, while a lock means the password held.
=======================  ==================================================================

Every email and notice carries a key derived from the event id, so a handler run twice
sends and notifies once.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from keel.auth.events import SecurityAlert
from keel.config import Settings
from keel.events.schemas import EventEnvelope
from keel.kit import tenancy
from keel.notifications import service as notifications_service
from keel.organizations.repository import invitations as invitation_rows
from keel.organizations.repository import organizations as organization_rows
from keel.organizations.schemas import Contact
from keel.organizations.service import members, orgs
from keel.plans import service as plans_service
from keel.plans.events import PlanLimitApproached, PlanLimitReached
from keel.users import service as users_service

LIMIT_TEMPLATES = {
    PlanLimitApproached.name: "plan_limit_warning",
    PlanLimitReached.name: "plan_limit_reached",
}
SECURITY_TEMPLATE = "security_alert"
#: Alerts the user's organizations' admins hear of (see the module's table).
ADMIN_ALERTS = frozenset({"refresh_token_reused"})
#: Alerts auth already emails to the user itself.
MAILED_BY_AUTH = frozenset({"account_locked"})

_SUMMARIES = {
    "refresh_token_reused": "A refresh token of {whose} was used a second time, which happens "
    "when someone else copied it. That session was ended at once for safety.",
    "account_locked": "Logins to {whose} were paused after too many wrong passwords.",
}
_TITLES = {
    "refresh_token_reused": "Session ended: a stolen token was used",
    "account_locked": "Account locked after failed logins",
}


async def limit_crossed(
    session: AsyncSession, envelope: EventEnvelope, *, settings: Settings
) -> None:
    event = envelope.typed()
    assert isinstance(event, PlanLimitApproached | PlanLimitReached)
    org_id = envelope.organization_id
    assert org_id is not None
    admins = await members.admin_contacts(session, org_id)
    organization = await organization_rows.get_for_job(session, org_id)
    if organization is None or not admins:
        return
    plan = await plans_service.plan_read(session, event.plan)
    label = plans_service.limit_label(event.feature)
    upgrade_url = f"{_base(settings)}/app/orgs/{org_id}/plan"
    reached = isinstance(event, PlanLimitReached)
    title = (
        f"{organization.name} reached its limit of {event.limit} {label}"
        if reached
        else f"{organization.name} has used {event.percent:g} % of its {label}"
    )
    context = {
        "organization": organization.name,
        "limit_label": label,
        "limit": event.limit,
        "used": f"{event.used:g}",
        "percent": f"{event.percent:g}",
        "plan": plan.name,
        "upgrade_url": upgrade_url,
    }
    for admin in admins:
        await notifications_service.send_email(
            session,
            to=admin.email,
            template=LIMIT_TEMPLATES[envelope.name],
            context={**context, "name": admin.name},
            category="usage",
            user_id=admin.user_id,
            dedupe_key=f"{envelope.id}:{admin.user_id}",
        )
        await notifications_service.notify(
            session,
            user_id=admin.user_id,
            kind=envelope.name,
            title=title,
            body=f"Upgrade the {plan.name} plan to raise the limit.",
            link=upgrade_url,
            organization_id=org_id,
            data={
                "feature": event.feature,
                "limit": event.limit,
                "used": event.used,
                "percent": event.percent,
            },
            dedupe_key=str(envelope.id),
        )


async def member_invited(
    session: AsyncSession, envelope: EventEnvelope, *, settings: Settings
) -> None:
    org_id = envelope.organization_id
    invitation_id = envelope.payload.get("invitation_id")
    if org_id is None or invitation_id is None:
        return
    await tenancy.enter_tenant(session, org_id)
    invitation = await invitation_rows.get_for_job(session, org_id, _uuid(invitation_id))
    if (
        invitation is None
        or invitation.accepted_at is not None
        or invitation.revoked_at is not None
    ):
        return
    invitee = await users_service.get_by_email(session, invitation.email)
    organization = await organization_rows.get_for_job(session, org_id)
    if invitee is None or organization is None:
        return  # no account yet: the invitation email is all they get
    await notifications_service.notify(
        session,
        user_id=invitee.id,
        kind=envelope.name,
        title=f"You were invited to join {organization.name}",
        body=f"Accept as {invitation.role} with the link emailed to {invitation.email}.",
        organization_id=org_id,
        data={"invitation_id": str(invitation.id), "role": invitation.role},
        dedupe_key=str(envelope.id),
    )


async def security_alert(
    session: AsyncSession, envelope: EventEnvelope, *, settings: Settings
) -> None:
    event = envelope.typed()
    assert isinstance(event, SecurityAlert)
    user = await users_service.get(session, event.user_id)
    if user is None:
        return
    context = _alert_context(event, envelope, settings)
    await notifications_service.notify(
        session,
        user_id=user.id,
        kind=envelope.name,
        title=_TITLES[event.kind],
        body=_summary(event.kind, whose="your account"),
        link=f"{_base(settings)}/app/settings/security",
        data={"kind": event.kind, "ip": event.ip},
        dedupe_key=str(envelope.id),
    )
    if event.kind not in MAILED_BY_AUTH:
        await notifications_service.send_email(
            session,
            to=user.email,
            template=SECURITY_TEMPLATE,
            context={**context, "name": user.name, "member": None, "organization": None,
                     "summary": _summary(event.kind, whose="your account")},
            dedupe_key=f"{envelope.id}:{user.id}",
        )  # fmt: skip
    if event.kind in ADMIN_ALERTS:
        await _tell_admins(
            session,
            envelope,
            event,
            member=Contact(user.id, user.email, user.name),
            context=context,
        )


async def _tell_admins(
    session: AsyncSession,
    envelope: EventEnvelope,
    event: SecurityAlert,
    *,
    member: Contact,
    context: dict[str, str],
) -> None:
    """One query per organization of the user (a handful), each under its own tenant."""
    summary = _summary(event.kind, whose=f"{member.name}'s account")
    for organization, _role in await orgs.list_mine(session, member.user_id):
        for admin in await members.admin_contacts(session, organization.id):
            if admin.user_id == member.user_id:
                continue  # told above as the user
            await notifications_service.send_email(
                session,
                to=admin.email,
                template=SECURITY_TEMPLATE,
                context={**context, "name": admin.name, "member": member.name,
                         "organization": organization.name, "summary": summary},
                dedupe_key=f"{envelope.id}:{admin.user_id}:{organization.id}",
            )  # fmt: skip
            await notifications_service.notify(
                session,
                user_id=admin.user_id,
                kind=envelope.name,
                title=f"Security alert for {member.name}",
                body=summary,
                organization_id=organization.id,
                data={"kind": event.kind, "user_id": str(member.user_id)},
                dedupe_key=f"{envelope.id}:{organization.id}",
            )


def _alert_context(
    event: SecurityAlert, envelope: EventEnvelope, settings: Settings
) -> dict[str, str]:
    return {
        "ip": event.ip or "an unknown address",
        "when": envelope.occurred_at.strftime("%Y-%m-%d %H:%M UTC"),
        "reset_url": f"{_base(settings)}/password/forgot",
    }


def _summary(kind: str, *, whose: str) -> str:
    return _SUMMARIES[kind].format(whose=whose)


def _base(settings: Settings) -> str:
    return settings.http.public_url.rstrip("/")


def _uuid(value: object) -> uuid.UUID:
    return uuid.UUID(str(value))
