"""Invitations: ``/api/v1/orgs/{org_id}/invitations`` (invite, list, resend, revoke) and
``POST /api/v1/invitations/accept``, with the email delivered by a real SMTP server."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from keel.config import Settings
from keel.kit import clock, security
from keel.kit.deps import Resources
from keel.organizations.service.invitations import LIFETIME
from tests.auth.conftest import deliver_mail, link_token
from tests.helpers.tenancy import (
    PASSWORD,
    add_member,
    make_caller,
    make_org,
    make_team,
    make_user,
)
from tests.kit.test_http import assert_problem
from tests.notifications.mailserver import smtp_server
from tests.organizations.builders import (
    audit_actions,
    audit_entry,
    event_payloads,
    grant_custom_role,
    invitations_of,
    make_invitation,
    membership,
)

ACCEPT = "/api/v1/invitations/accept"


def url(org_id: object, *rest: object) -> str:
    return "/".join([f"/api/v1/orgs/{org_id}/invitations", *map(str, rest)])


# ---- the whole journey -----------------------------------------------------------------------


async def test_invite__newcomer_registers_and_accepts_link_from_real_smtp__joins_once(
    client: httpx.AsyncClient, db: AsyncSession, resources: Resources, settings: Settings
) -> None:
    # Given an admin with a team
    admin = await make_caller(db, settings, name="Ada Admin")
    org = await make_org(db, admin.user, name="Acme Rockets")
    team = await make_team(db, org)
    with smtp_server() as inbox:
        # When they invite a newcomer and the queued jobs run against a real SMTP server
        response = await client.post(
            url(org.id),
            json={"email": "Grace@Example.com", "role": "manager", "team_id": str(team.id)},
            headers=admin.headers,
        )
        assert response.status_code == 201, response.text
        await deliver_mail(resources, settings, inbox)
    # Then the invitation is pending for a week and the email carries the accept link
    body = response.json()
    assert (body["email"], body["role"], body["status"]) == (
        "grace@example.com",
        "manager",
        "pending",
    )
    [message] = inbox.messages
    assert message["To"] == "grace@example.com"
    assert message["Subject"] == "Join Acme Rockets on Keel"
    text = message.get_body(("plain",))
    assert text is not None and "Ada Admin invited you" in text.get_content()
    assert f"{settings.http.public_url}/invitations/accept?token=" in text.get_content()
    token = link_token(message)
    [stored] = await invitations_of(db, org)
    assert stored.token_hash == security.token_hash(token) and token not in stored.token_hash
    assert stored.expires_at - stored.sent_at == LIFETIME
    # When the newcomer registers with the invited address, logs in and accepts
    registered = await client.post(
        "/api/v1/auth/register",
        json={"email": "grace@example.com", "password": PASSWORD, "name": "Grace Hopper"},
    )
    assert registered.status_code == 201, registered.text
    login = await client.post(
        "/api/v1/auth/login", json={"email": "grace@example.com", "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    accepted = await client.post(ACCEPT, json={"token": token}, headers=headers)
    # Then they are a member with the invited role and team
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["id"], accepted.json()["role"]) == (str(org.id), "manager")
    members = await client.get(f"/api/v1/orgs/{org.id}/members", headers=admin.headers)
    grace = next(m for m in members.json()["items"] if m["email"] == "grace@example.com")
    assert (grace["role"], grace["team_id"]) == ("manager", str(team.id))
    # And it was audited and published, and the invitation now reads accepted
    assert {"member.invited", "member.joined"} <= set(await audit_actions(db, org))
    joined = await event_payloads(db, org, "member.joined")
    assert joined[-1] == {
        "user_id": grace["user_id"],
        "role": "manager",
        "invitation_id": body["id"],
    }
    [invited] = await event_payloads(db, org, "member.invited")
    assert invited["invitation_id"] == body["id"] and invited["invited_by"] == str(admin.user.id)
    listed = await client.get(url(org.id), headers=admin.headers)
    assert [i["status"] for i in listed.json()["items"]] == ["accepted"]
    # And the same link a second time is refused
    again = await client.post(ACCEPT, json={"token": token}, headers=headers)
    assert_problem(again, 400, "invitation_invalid")


# ---- invite ----------------------------------------------------------------------------------


async def test_invite__anonymous_401_manager_403_other_tenant_404_bad_input_422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an organization with a manager, and another tenant's admin
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    manager = await make_caller(db, settings)
    await add_member(db, org, manager.user, role="manager")
    stranger = await make_caller(db, settings)
    await make_org(db, stranger.user)
    body = {"email": "new@example.com", "role": "member"}
    # Then each refusal has its status and no invitation exists
    assert (await client.post(url(org.id), json=body)).status_code == 401
    assert_problem(
        await client.post(url(org.id), json=body, headers=manager.headers), 403, "permission_denied"
    )
    assert_problem(
        await client.post(url(org.id), json=body, headers=stranger.headers), 404, "not_found"
    )
    for bad in (
        {"email": "not-an-email", "role": "member"},
        {"email": "a@example.com", "role": "owner"},
        {"email": "a@example.com", "role": "member", "organization_id": str(org.id)},
        {"role": "member"},
    ):
        response = await client.post(url(org.id), json=bad, headers=admin.headers)
        assert response.status_code == 422, bad
    assert await invitations_of(db, org) == []


async def test_invite__role_above_inviter__403_role_too_high(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a manager whose custom role lets them invite
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    inviter = await make_caller(db, settings)
    member = await add_member(db, org, inviter.user, role="manager")
    await grant_custom_role(db, org, member, "users:create")
    # When they invite someone as admin, Then 403 role_too_high
    above = {"email": "boss@example.com", "role": "admin"}
    response = await client.post(url(org.id), json=above, headers=inviter.headers)
    assert_problem(response, 403, "role_too_high")
    # And up to their own role is fine
    own = {"email": "peer@example.com", "role": "manager"}
    assert (await client.post(url(org.id), json=own, headers=inviter.headers)).status_code == 201
    assert [i.email for i in await invitations_of(db, org)] == ["peer@example.com"]


async def test_invite__existing_member__409_already_member(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    user = await make_user(db, email="here@example.com")
    await add_member(db, org, user)
    response = await client.post(
        url(org.id), json={"email": "HERE@example.com"}, headers=admin.headers
    )
    assert_problem(response, 409, "already_member")


async def test_invite__team_of_other_org__404(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    foreign = await make_team(db, await make_org(db, (await make_user(db))))
    response = await client.post(
        url(org.id),
        json={"email": "x@example.com", "team_id": str(foreign.id)},
        headers=admin.headers,
    )
    assert_problem(response, 404, "not_found")
    assert await invitations_of(db, org) == []


async def test_invite__pending_for_same_email__replaced_not_duplicated(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given a pending invitation
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    invitation, old_token = await make_invitation(db, org, email="twice@example.com")
    # When the same address is invited again with another role
    response = await client.post(
        url(org.id), json={"email": "twice@example.com", "role": "user"}, headers=admin.headers
    )
    # Then the one invitation is updated (new role, new token), not duplicated
    assert response.status_code == 201, response.text
    assert response.json()["id"] == str(invitation.id)
    [stored] = await invitations_of(db, org)
    assert stored.role == "user" and stored.token_hash != security.token_hash(old_token)
    entry = await audit_entry(db, org, "member.invited")
    assert entry.changes is not None and entry.changes["role"] == {
        "before": "member",
        "after": "user",
    }


# ---- list ------------------------------------------------------------------------------------


async def test_list_invitations__each_status__named(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given invitations in every state
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    now = clock.now()
    await make_invitation(db, org, email="p@example.com")
    await make_invitation(db, org, email="a@example.com", accepted_at=now)
    await make_invitation(db, org, email="r@example.com", revoked_at=now)
    await make_invitation(db, org, email="e@example.com", expires_at=now - timedelta(seconds=1))
    # When the admin lists them (newest first, two per page)
    first = await client.get(url(org.id), params={"limit": 2}, headers=admin.headers)
    second = await client.get(
        url(org.id), params={"cursor": first.json()["next_cursor"]}, headers=admin.headers
    )
    # Then each carries its status
    items = first.json()["items"] + second.json()["items"]
    assert [(i["email"], i["status"]) for i in items] == [
        ("e@example.com", "expired"),
        ("r@example.com", "revoked"),
        ("a@example.com", "accepted"),
        ("p@example.com", "pending"),
    ]


async def test_list_invitations__anonymous_401_member_403_other_tenant_404_bad_limit_422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    member = await make_caller(db, settings)
    await add_member(db, org, member.user)
    stranger = await make_caller(db, settings)
    await make_invitation(db, org)
    assert (await client.get(url(org.id))).status_code == 401
    assert_problem(await client.get(url(org.id), headers=member.headers), 403, "permission_denied")
    assert_problem(await client.get(url(org.id), headers=stranger.headers), 404, "not_found")
    bad = await client.get(url(org.id), params={"limit": 101}, headers=admin.headers)
    assert bad.status_code == 422


# ---- resend ----------------------------------------------------------------------------------


async def test_resend__admin__new_link_works_old_one_dies(
    client: httpx.AsyncClient, db: AsyncSession, resources: Resources, settings: Settings
) -> None:
    # Given an invitation sent a while ago, and the invited person with an account
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    sent = clock.now() - timedelta(days=3)
    invitation, old_token = await make_invitation(
        db, org, email="late@example.com", sent_at=sent, expires_at=sent + LIFETIME
    )
    invitee = await make_caller(db, settings, email="late@example.com")
    with smtp_server() as inbox:
        # When the admin resends it
        response = await client.post(url(org.id, invitation.id, "resend"), headers=admin.headers)
        assert response.status_code == 200, response.text
        await deliver_mail(resources, settings, inbox)
    # Then sent_at moved, a new email went out, and only its token works
    [message] = inbox.messages
    new_token = link_token(message)
    [stored] = await invitations_of(db, org)
    assert stored.sent_at > sent and stored.expires_at == stored.sent_at + LIFETIME
    old = await client.post(ACCEPT, json={"token": old_token}, headers=invitee.headers)
    assert_problem(old, 400, "invitation_invalid")
    new = await client.post(ACCEPT, json={"token": new_token}, headers=invitee.headers)
    assert new.status_code == 200, new.text
    assert "member.invited" in await audit_actions(db, org)


async def test_resend__anonymous_401_manager_403_other_tenant_404_bad_id_422_revoked_409(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    manager = await make_caller(db, settings)
    await add_member(db, org, manager.user, role="manager")
    stranger = await make_caller(db, settings)
    own_org = await make_org(db, stranger.user)
    invitation, token = await make_invitation(db, org)
    target = url(org.id, invitation.id, "resend")
    assert (await client.post(target)).status_code == 401
    assert_problem(await client.post(target, headers=manager.headers), 403, "permission_denied")
    for org_id in (org.id, own_org.id):
        response = await client.post(url(org_id, invitation.id, "resend"), headers=stranger.headers)
        assert_problem(response, 404, "not_found")
    assert (await client.post(url(org.id, "x", "resend"), headers=admin.headers)).status_code == 422
    [stored] = await invitations_of(db, org)
    assert stored.token_hash == security.token_hash(token)
    revoked, _ = await make_invitation(db, org, revoked_at=clock.now())
    again = await client.post(url(org.id, revoked.id, "resend"), headers=admin.headers)
    assert_problem(again, 409, "conflict")


# ---- revoke ----------------------------------------------------------------------------------


async def test_revoke__admin__204_link_refused_audited_and_published(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an invitation and the invited person with an account
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    invitation, token = await make_invitation(db, org, email="gone@example.com")
    invitee = await make_caller(db, settings, email="gone@example.com")
    # When the admin revokes it
    response = await client.delete(url(org.id, invitation.id), headers=admin.headers)
    # Then its link is refused, and the revocation is audited and published
    assert response.status_code == 204, response.text
    refused = await client.post(ACCEPT, json={"token": token}, headers=invitee.headers)
    assert_problem(refused, 400, "invitation_invalid")
    assert await membership(db, org, invitee.user) is None
    entry = await audit_entry(db, org, "invitation.revoked")
    assert entry.changes is not None and entry.changes["revoked_at"]["before"] is None
    assert await event_payloads(db, org, "invitation.revoked") == [
        {"invitation_id": str(invitation.id)}
    ]
    # And revoking again changes nothing
    assert (
        await client.delete(url(org.id, invitation.id), headers=admin.headers)
    ).status_code == 204
    assert len(await event_payloads(db, org, "invitation.revoked")) == 1


async def test_revoke__anonymous_401_manager_403_other_tenant_404_bad_id_422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    manager = await make_caller(db, settings)
    await add_member(db, org, manager.user, role="manager")
    stranger = await make_caller(db, settings)
    own_org = await make_org(db, stranger.user)
    invitation, _ = await make_invitation(db, org)
    assert (await client.delete(url(org.id, invitation.id))).status_code == 401
    assert_problem(
        await client.delete(url(org.id, invitation.id), headers=manager.headers),
        403,
        "permission_denied",
    )
    for org_id in (org.id, own_org.id):
        response = await client.delete(url(org_id, invitation.id), headers=stranger.headers)
        assert_problem(response, 404, "not_found")
    assert (await client.delete(url(org.id, "x"), headers=admin.headers)).status_code == 422
    [stored] = await invitations_of(db, org)
    assert stored.revoked_at is None


# ---- accept ----------------------------------------------------------------------------------


async def test_accept__expired__400_invitation_invalid(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    _, token = await make_invitation(
        db, org, email="slow@example.com", expires_at=clock.now() - timedelta(minutes=1)
    )
    invitee = await make_caller(db, settings, email="slow@example.com")
    response = await client.post(ACCEPT, json={"token": token}, headers=invitee.headers)
    assert_problem(response, 400, "invitation_invalid")
    assert await membership(db, org, invitee.user) is None


async def test_accept__other_address__403_mismatch_and_invitation_stays_usable(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Given an invitation for one address and a user with another
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    _, token = await make_invitation(db, org, email="right@example.com", role="guest")
    wrong = await make_caller(db, settings, email="wrong@example.com")
    # When the wrong user accepts, Then 403 and nothing is used up
    response = await client.post(ACCEPT, json={"token": token}, headers=wrong.headers)
    assert_problem(response, 403, "invitation_email_mismatch")
    assert await membership(db, org, wrong.user) is None
    right = await make_caller(db, settings, email="right@example.com")
    accepted = await client.post(ACCEPT, json={"token": token}, headers=right.headers)
    assert accepted.status_code == 200 and accepted.json()["role"] == "guest"


async def test_accept__anonymous_401_unknown_token_400_bad_body_422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    caller = await make_caller(db, settings)
    assert (await client.post(ACCEPT, json={"token": "abc"})).status_code == 401
    unknown = await client.post(ACCEPT, json={"token": "abc"}, headers=caller.headers)
    assert_problem(unknown, 400, "invitation_invalid")
    for bad in ({}, {"token": ""}, {"token": "x" * 201}, {"token": "abc", "role": "admin"}):
        assert (await client.post(ACCEPT, json=bad, headers=caller.headers)).status_code == 422


async def test_accept__already_member__409_and_invitation_unused(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    member = await make_caller(db, settings)
    await add_member(db, org, member.user, role="user")
    _, token = await make_invitation(db, org, email=member.user.email, role="manager")
    response = await client.post(ACCEPT, json={"token": token}, headers=member.headers)
    assert_problem(response, 409, "already_member")
    stored = await membership(db, org, member.user)
    assert stored is not None and stored.role == "user"
