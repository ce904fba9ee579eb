"""Teams: create, list, read, rename, delete. A team's members are the memberships that name
it; deleting a team keeps them in the organization, teamless.

``team:read``/``team:write`` are at team scope for a manager: they see, rename and delete
only their own team, and only an organization-wide grant (an admin) creates teams.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access import service as access
from keel.access.rules import Resource
from keel.access.schemas import OrgAccess
from keel.audit import rules as audit_rules
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.events import service as events_service
from keel.kit.db import unique_or_raise
from keel.kit.schemas import Page, PageParams
from keel.organizations.errors import ObjectNotFound, TeamNameTaken
from keel.organizations.events import TeamCreated, TeamDeleted, TeamUpdated
from keel.organizations.models import Team
from keel.organizations.repository.teams import TeamRepository
from keel.organizations.schemas import TeamCreate, TeamRead
from keel.organizations.service import members


async def create(session: AsyncSession, org: OrgAccess, data: TeamCreate) -> TeamRead:
    access.ensure(org, "team:write")
    team = Team(organization_id=org.org_id, name=data.name.strip())
    async with unique_or_raise(session, _name_taken(team)):
        await TeamRepository(session, org.org_id).add(team)
    await audit_service.record(
        session, org.actor, "team.created", target=_target(team), changes=_diff({}, team)
    )
    await events_service.publish(
        session, TeamCreated(organization_id=org.org_id, team_id=team.id, team_name=team.name)
    )
    return _read(team, 0)


async def list_page(session: AsyncSession, org: OrgAccess, page: PageParams) -> Page[TeamRead]:
    """Every team for an organization-wide reader; a team-scoped one sees their own."""
    only = None if access.can(org, "team:read") else _readable_teams(org)
    window = await TeamRepository(session, org.org_id).page(page, only=only)
    counts = await members.team_counts(session, org, [t.id for t in window.items])
    items = [_read(t, counts.get(t.id, 0)) for t in window.items]
    return Page(items=items, next_cursor=window.next_cursor)


async def get(session: AsyncSession, org: OrgAccess, team_id: uuid.UUID) -> TeamRead:
    team = await _team(session, org, team_id, "team:read")
    return await _with_count(session, org, team)


async def rename(
    session: AsyncSession, org: OrgAccess, team_id: uuid.UUID, data: TeamCreate
) -> TeamRead:
    team = await _team(session, org, team_id, "team:write")
    before = _snapshot(team)
    team.name = data.name.strip()
    changes = audit_rules.diff(before, _snapshot(team))
    if changes:
        async with unique_or_raise(session, _name_taken(team)):
            await session.flush()
        await audit_service.record(
            session, org.actor, "team.updated", target=_target(team), changes=changes
        )
        await events_service.publish(
            session, TeamUpdated(organization_id=org.org_id, team_id=team.id, team_name=team.name)
        )
    return await _with_count(session, org, team)


async def delete(session: AsyncSession, org: OrgAccess, team_id: uuid.UUID) -> None:
    team = await _team(session, org, team_id, "team:write")
    await members.clear_team(session, org, team.id)
    await audit_service.record(
        session, org.actor, "team.deleted", target=_target(team), changes=_diff(team, {})
    )
    await events_service.publish(session, TeamDeleted(organization_id=org.org_id, team_id=team.id))
    await TeamRepository(session, org.org_id).delete(team)


def _name_taken(team: Team) -> TeamNameTaken:
    return TeamNameTaken(f"A team named {team.name!r} already exists here; choose another name.")


async def exists(session: AsyncSession, org: OrgAccess, team_id: uuid.UUID) -> bool:
    """Whether ``team_id`` names a team of this organization: how other domains validate a
    team reference without reading this domain's tables."""
    return await TeamRepository(session, org.org_id).get(team_id) is not None


async def _team(session: AsyncSession, org: OrgAccess, team_id: uuid.UUID, permission: str) -> Team:
    """Fetch within the organization first (404), then check the scope (403)."""
    team = await TeamRepository(session, org.org_id).get(team_id)
    if team is None:
        raise ObjectNotFound("No team with this id in this organization.")
    access.ensure(org, permission, _resource(org, team.id))
    return team


def _readable_teams(org: OrgAccess) -> list[uuid.UUID]:
    own = (uuid.UUID(str(team_id)) for team_id in org.subject.team_ids)
    return [team_id for team_id in own if access.can(org, "team:read", _resource(org, team_id))]


async def _with_count(session: AsyncSession, org: OrgAccess, team: Team) -> TeamRead:
    counts = await members.team_counts(session, org, [team.id])
    return _read(team, counts.get(team.id, 0))


def _resource(org: OrgAccess, team_id: uuid.UUID) -> Resource:
    return Resource(type="team", organization_id=org.org_id, team_id=team_id)


def _snapshot(team: Team) -> dict[str, Any]:
    return {"name": team.name}


def _diff(before: Team | dict[str, Any], after: Team | dict[str, Any]) -> dict[str, Any]:
    def plain(side: Team | dict[str, Any]) -> dict[str, Any]:
        return _snapshot(side) if isinstance(side, Team) else side

    return audit_rules.diff(plain(before), plain(after))


def _target(team: Team) -> Target:
    return Target(type="team", id=str(team.id), organization_id=team.organization_id)


def _read(team: Team, member_count: int) -> TeamRead:
    return TeamRead(
        id=team.id, name=team.name, member_count=member_count, created_at=team.created_at
    )
