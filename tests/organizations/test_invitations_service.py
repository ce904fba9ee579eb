"""``invitations.preview``: what an invitation link's page may show before anyone signs in
(read across tenants by the token's hash, tenant isolation restored afterwards)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from keel.kit import clock, tenancy
from keel.organizations.errors import ObjectNotFound
from keel.organizations.service import invitations
from tests.helpers.tenancy import access_for, make_org, make_user
from tests.organizations.builders import make_invitation


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({}, "pending"),
        ({"expires_at": clock.now() - timedelta(minutes=1)}, "expired"),
        ({"revoked_at": clock.now()}, "revoked"),
        ({"accepted_at": clock.now()}, "accepted"),
    ],
)
async def test_preview__invitation_of_another_tenant__names_org_role_address_and_status(
    db: AsyncSession, fields: dict[str, Any], status: str
) -> None:
    # Given an invitation of an organization the caller has no access to
    org = await make_org(db, await make_user(db), name="Preview Org")
    _, token = await make_invitation(db, org, email="p@example.com", role="guest", **fields)
    await tenancy.enter_user(db, (await make_user(db)).id)
    # When its link is previewed
    found = await invitations.preview(db, token=token)
    # Then it names what it offers and whether it still works
    assert found is not None
    assert (found.organization_name, found.role, found.email, found.status) == (
        "Preview Org",
        "guest",
        "p@example.com",
        status,
    )
    # And tenant isolation is back in force afterwards
    assert tenancy.current(db).get(tenancy.PLATFORM_SETTING) == ""


async def test_preview__unknown_token__none(db: AsyncSession) -> None:
    assert await invitations.preview(db, token="no-such-token") is None


async def test_get__own_invitation_read_another_tenants__not_found(db: AsyncSession) -> None:
    # Given an invitation here and one of another organization
    admin = await make_user(db)
    org = await make_org(db, admin)
    own, _ = await make_invitation(db, org, email="own@example.com", role="user")
    theirs, _ = await make_invitation(db, await make_org(db, await make_user(db)))
    access = await access_for(db, admin, org)
    # When each is read through this organization
    read = await invitations.get(db, access, own.id)
    # Then this organization's is found with its status, the other is not
    assert (read.email, read.role, read.status) == ("own@example.com", "user", "pending")
    with pytest.raises(ObjectNotFound):
        await invitations.get(db, access, theirs.id)
