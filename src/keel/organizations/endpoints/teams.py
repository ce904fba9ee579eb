"""``/api/v1/orgs/{org_id}/teams``: create, list, read, rename, delete."""

from __future__ import annotations

import uuid

from fastapi import Response

from keel.auth.dependencies import Idempotent
from keel.kit.deps import DbSession
from keel.kit.routing import api_router
from keel.kit.schemas import Page, Pagination
from keel.organizations.dependencies import CanManageTeams, CanReadTeams
from keel.organizations.schemas import TeamCreate, TeamRead
from keel.organizations.service import teams

router = api_router(tags=["organizations"])


@router.post("/orgs/{org_id}/teams", status_code=201, response_model=TeamRead)
async def create_team(
    body: TeamCreate, org: CanManageTeams, db: DbSession, idempotency: Idempotent
) -> TeamRead:
    return await teams.create(db, org, body)


@router.get("/orgs/{org_id}/teams", response_model=Page[TeamRead])
async def list_teams(org: CanReadTeams, page: Pagination, db: DbSession) -> Page[TeamRead]:
    return await teams.list_page(db, org, page)


@router.get("/orgs/{org_id}/teams/{team_id}", response_model=TeamRead)
async def read_team(team_id: uuid.UUID, org: CanReadTeams, db: DbSession) -> TeamRead:
    return await teams.get(db, org, team_id)


@router.patch("/orgs/{org_id}/teams/{team_id}", response_model=TeamRead)
async def rename_team(
    team_id: uuid.UUID, body: TeamCreate, org: CanManageTeams, db: DbSession
) -> TeamRead:
    return await teams.rename(db, org, team_id, body)


@router.delete("/orgs/{org_id}/teams/{team_id}", status_code=204)
async def delete_team(team_id: uuid.UUID, org: CanManageTeams, db: DbSession) -> Response:
    await teams.delete(db, org, team_id)
    return Response(status_code=204)
