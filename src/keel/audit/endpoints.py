"""``/api/v1/orgs/{org_id}/audit-logs``: the organization's audit log, a page at a time or
exported as CSV or JSON lines. Admins only (``audit:read``), on plans with ``audit_logs``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from keel.access.schemas import OrgAccess
from keel.audit import service
from keel.audit.schemas import ACTION_FILTER, AuditEntryRead, AuditFilters, ExportFormat
from keel.kit import clock
from keel.kit.deps import AppResources, DbSession
from keel.kit.routing import api_router
from keel.kit.schemas import Page, Pagination
from keel.organizations.dependencies import CanReadAuditLog
from keel.plans import service as plans_service

router = api_router(tags=["audit"])

AUDIT_LOGS = "/orgs/{org_id}/audit-logs"
_MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


async def audit_reader(org: CanReadAuditLog, db: DbSession) -> OrgAccess:
    reader: OrgAccess = org
    await plans_service.ensure_feature(db, reader, "audit_logs")
    return reader


AuditReader = Annotated[OrgAccess, Depends(audit_reader)]


async def audit_filters(
    *,
    actor: Annotated[
        str | None, Query(min_length=1, max_length=64, description="The actor's id.")
    ] = None,
    action: Annotated[
        str | None,
        Query(
            pattern=ACTION_FILTER,
            max_length=100,
            description="An action (`member.invited`), or a prefix ending in `*` (`member.*`).",
        ),
    ] = None,
    target_type: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    target_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    since: Annotated[
        AwareDatetime | None, Query(description="At or after this moment (with its offset).")
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(description="Before this moment (with its offset).")
    ] = None,
) -> AuditFilters:
    return AuditFilters(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
    )


AuditQuery = Annotated[AuditFilters, Depends(audit_filters)]


@router.get(AUDIT_LOGS, response_model=Page[AuditEntryRead])
async def list_audit_logs(
    org: AuditReader, db: DbSession, filters: AuditQuery, page: Pagination
) -> Page[AuditEntryRead]:
    window = await service.list_entries(db, org, filters, page)
    return Page[AuditEntryRead](items=window.items, next_cursor=window.next_cursor)


@router.get(
    AUDIT_LOGS + "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
)
async def export_audit_logs(
    org: AuditReader,
    resources: AppResources,
    filters: AuditQuery,
    format: Annotated[ExportFormat, Query(description="csv or jsonl")] = "csv",
) -> StreamingResponse:
    """Streamed newest first. The export is itself audited (``audit_log.exported``), in a
    unit of work of its own committed before the first byte: this GET's request session
    only reads."""
    async with resources.database.transaction() as session:
        await service.record_export(session, org, filters, format)
    rows = service.export(
        resources.database,
        org.org_id,
        filters,
        format,
        batch_rows=resources.settings.audit.export_batch_rows,
    )
    name = f"audit-log-{org.org_id}-{clock.now():%Y%m%dT%H%M%SZ}.{format}"
    return StreamingResponse(
        rows,
        media_type=_MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
