"""The flags' HTTP surface: parse, call the service, return.

- ``/api/v1/admin/flags``: the platform owner (``PlatformOwner``: superadmin with MFA on)
  lists, creates, reads, changes, toggles, deletes flags, reads a flag's history and rolls it
  back to a previous version;
- ``/api/v1/orgs/{org_id}/flags``: a member of the organization reads every flag's value for
  themselves (what the web app asks once per page load).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response

from keel.auth.dependencies import Idempotent, PlatformOwner
from keel.flags import service
from keel.flags.models import FeatureFlag
from keel.flags.schemas import (
    KEY_PATTERN,
    FlagCreate,
    FlagRead,
    FlagRollback,
    FlagToggle,
    FlagUpdate,
    FlagValue,
    FlagValues,
    FlagVersionRead,
)
from keel.kit.deps import AppSettings, DbSession
from keel.kit.routing import api_router
from keel.kit.schemas import Page, Pagination
from keel.organizations.dependencies import OrgMember

admin_router = api_router(prefix="/admin/flags", tags=["flags"])
org_router = api_router(tags=["flags"])
ROUTERS = (admin_router, org_router)

Key = Annotated[
    str, Path(pattern=KEY_PATTERN, max_length=100, description="The flag's key, e.g. ai_assistant.")
]


def _read(flag: FeatureFlag) -> FlagRead:
    return FlagRead.of(flag)


# ---- admin -------------------------------------------------------------------------------------


@admin_router.get("", response_model=Page[FlagRead])
async def list_flags(actor: PlatformOwner, page: Pagination, db: DbSession) -> Page[FlagRead]:
    window = await service.list_flags(db, page)
    return Page[FlagRead](items=[_read(f) for f in window.items], next_cursor=window.next_cursor)


@admin_router.post("", status_code=201, response_model=FlagRead)
async def create_flag(
    body: FlagCreate, actor: PlatformOwner, db: DbSession, idempotency: Idempotent
) -> FlagRead:
    return _read(await service.create_flag(db, actor, body))


@admin_router.get("/{key}", response_model=FlagRead)
async def read_flag(key: Key, actor: PlatformOwner, db: DbSession) -> FlagRead:
    return _read(await service.get_flag(db, key))


@admin_router.patch("/{key}", response_model=FlagRead)
async def update_flag(key: Key, body: FlagUpdate, actor: PlatformOwner, db: DbSession) -> FlagRead:
    return _read(await service.update_flag(db, actor, key, body))


@admin_router.post("/{key}/toggle", response_model=FlagRead)
async def toggle_flag(key: Key, body: FlagToggle, actor: PlatformOwner, db: DbSession) -> FlagRead:
    """Switch the flag on or off (``{"enabled": true}``); the same state again changes
    nothing and records nothing."""
    return _read(await service.set_enabled(db, actor, key, enabled=body.enabled))


@admin_router.delete("/{key}", status_code=204)
async def delete_flag(key: Key, actor: PlatformOwner, db: DbSession) -> Response:
    await service.delete_flag(db, actor, key)
    return Response(status_code=204)


@admin_router.get("/{key}/history", response_model=Page[FlagVersionRead])
async def flag_history(
    key: Key, actor: PlatformOwner, page: Pagination, db: DbSession
) -> Page[FlagVersionRead]:
    """Every change, newest first: who, when, the diff and the whole definition after it."""
    window = await service.history(db, key, page)
    items = [FlagVersionRead.of(row) for row in window.items]
    return Page[FlagVersionRead](items=items, next_cursor=window.next_cursor)


@admin_router.post("/{key}/rollback", response_model=FlagRead)
async def rollback_flag(
    key: Key, body: FlagRollback, actor: PlatformOwner, db: DbSession, idempotency: Idempotent
) -> FlagRead:
    """Make a previous version's definition current again, recorded as a new version."""
    return _read(await service.rollback(db, actor, key, version=body.version))


# ---- organizations -----------------------------------------------------------------------------


@org_router.get("/orgs/{org_id}/flags", response_model=FlagValues)
async def flag_values(org: OrgMember, db: DbSession, settings: AppSettings) -> FlagValues:
    """Every flag's value for the caller in this organization, computed with their user id,
    attributes, role and the organization's plan."""
    environment = service.environment_for(settings)
    answers = await service.evaluate_all_for(db, org, environment=environment)
    flags = {
        key: FlagValue(
            enabled=answer.enabled, value=answer.value, variant=answer.variant, reason=answer.reason
        )
        for key, answer in answers.items()
    }
    return FlagValues(environment=environment, flags=flags)
