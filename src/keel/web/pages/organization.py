"""The organization's admin pages, second part: plan and usage, the audit log (with its CSV
and JSON-lines exports), and webhooks (endpoints, their secret, test ping, delivery log).

Each route declares the API's permission for the same feature (``billing:read``,
``audit:read`` plus the plan's ``audit_logs``, ``webhooks:read`` / ``webhooks:write``) and calls
the service the API calls, so the audit entries and events are the API's. A secret (a new
endpoint's, a rotated one) is shown once, on the answer to the POST that made it, and is never
put in a redirect, a cookie or a URL.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from pydantic import ValidationError

from keel.access import service as access
from keel.access.schemas import OrgAccess
from keel.audit.schemas import ExportFormat
from keel.kit import clock
from keel.kit.deps import AppResources, DbSession
from keel.kit.errors import ValidationFailed
from keel.kit.problems import validation_errors
from keel.plans import service as plans_service
from keel.web import rules
from keel.web.dependencies import (
    MAX_FORM_FIELDS,
    CanManageWebhooksPage,
    CanReadAuditPage,
    CanReadBillingPage,
    CanReadWebhooksPage,
    OrgShell,
    WebForm,
    WebState,
)
from keel.web.pages.common import is_htmx, schema_errors
from keel.web.pages.render import redirect, render
from keel.web.service import organization as admin
from keel.web.service.shell import Shell
from keel.webhooks.models import WebhookEndpoint
from keel.webhooks.schemas import SecretRotated

router = APIRouter(prefix="/app/{org_id}")

_EXPORT_MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
#: Pages that show a secret: neither the browser nor a proxy may keep a copy.
_NO_STORE = {"Cache-Control": "no-store"}


async def audit_page_reader(org: CanReadAuditPage, db: DbSession) -> OrgAccess:
    """``audit:read`` and the plan's ``audit_logs``, as the API's ``AuditReader``: on a plan
    without it, the 402 page with the upgrade prompt."""
    reader: OrgAccess = org
    await plans_service.ensure_feature(db, reader, "audit_logs")
    return reader


AuditPageReader = Annotated[OrgAccess, Depends(audit_page_reader)]


# ---- plan and usage -------------------------------------------------------------------------


@router.get("/plan")
async def plan(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    org: CanReadBillingPage,
    shell: OrgShell,
    db: DbSession,
    resources: AppResources,
) -> Response:
    view = await admin.plan_page(
        db,
        org,
        organization=_org_name(shell),
        support_email=resources.settings.notifications.support_email,
    )
    return render(
        request, "pages/organization/plan.html", state, shell=shell, nav="plan", view=view
    )


# ---- audit log ------------------------------------------------------------------------------


@router.get("/audit-log")
async def audit_log(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    org: AuditPageReader,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    raw = dict(request.query_params)
    try:
        query = admin.AuditLogQuery.model_validate(raw)
        window = await admin.audit_page(db, org, query)
    except ValidationError as exc:
        return _audit_refused(request, state, shell, raw, schema_errors(exc))
    except ValidationFailed as exc:
        return _audit_refused(request, state, shell, raw, _problem_errors(exc))
    return render(
        request,
        "pages/organization/audit_log.html",
        state,
        shell=shell,
        nav="audit",
        rows=window.items,
        next_cursor=window.next_cursor,
        values=query.params(),
        errors={},
    )


def _audit_refused(
    request: Request,
    state: rules.WebSession,
    shell: Shell,
    raw: dict[str, str],
    errors: dict[str, str],
) -> Response:
    """The filter form again with its messages inline, and no rows (422)."""
    return render(
        request,
        "pages/organization/audit_log.html",
        state,
        status_code=422,
        shell=shell,
        nav="audit",
        rows=[],
        next_cursor=None,
        values={key: value for key, value in raw.items() if key != "cursor"},
        errors=errors,
    )


@router.get("/audit-log/export")
async def export_audit_log(
    request: Request,
    *,
    org_id: uuid.UUID,
    org: AuditPageReader,
    resources: AppResources,
) -> Response:
    """The API's export (same service, same ``audit_log.exported`` entry), for the cookie
    session: the API route takes bearer tokens only. Filters are the page's."""
    params = dict(request.query_params)
    fmt: ExportFormat = "jsonl" if params.pop("format", "csv") == "jsonl" else "csv"
    try:
        query = admin.AuditLogQuery.model_validate(params)
    except ValidationError as exc:
        raise ValidationFailed(
            "A filter of the export is invalid; correct it on the audit log page.",
            errors=validation_errors(exc.errors()),
        ) from None
    rows = await admin.start_export(resources, org, query, fmt)
    name = f"audit-log-{org.org_id}-{clock.now():%Y%m%dT%H%M%SZ}.{fmt}"
    return StreamingResponse(
        rows,
        media_type=_EXPORT_MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# ---- webhooks: the list and a new endpoint --------------------------------------------------


@router.get("/webhooks")
async def webhooks(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    org: CanReadWebhooksPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    window = await admin.webhooks_page(db, org, cursor=request.query_params.get("cursor"))
    return render(
        request,
        "pages/organization/webhooks.html",
        state,
        shell=shell,
        nav="webhooks",
        rows=window.items,
        next_cursor=window.next_cursor,
        can_write=_can_write(org),
    )


@router.get("/webhooks/new")
async def new_webhook(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    org: CanManageWebhooksPage,
    shell: OrgShell,
) -> Response:
    return _webhook_form(request, state, shell, values={"enabled": "on"}, chosen=[])


@router.post("/webhooks")
async def create_webhook(
    request: Request,
    *,
    org_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    org: CanManageWebhooksPage,
    shell: OrgShell,
    db: DbSession,
    resources: AppResources,
) -> Response:
    chosen = await _chosen_events(request)
    try:
        data = admin.webhook_create(form, chosen)
        endpoint, secret = await admin.create_webhook(db, org, data, resources=resources)
    except ValidationError as exc:
        errors = schema_errors(exc)
        return _webhook_form(request, state, shell, values=form, chosen=chosen, errors=errors)
    except ValidationFailed as exc:
        errors = _problem_errors(exc)
        return _webhook_form(request, state, shell, values=form, chosen=chosen, errors=errors)
    return _secret_page(request, state, shell, endpoint, secret=secret, rotated=None)


def _webhook_form(
    request: Request,
    state: rules.WebSession,
    shell: Shell,
    *,
    values: dict[str, str],
    chosen: list[str],
    errors: dict[str, str] | None = None,
    endpoint: WebhookEndpoint | None = None,
) -> Response:
    return render(
        request,
        "pages/organization/webhook_form.html",
        state,
        status_code=422 if errors else 200,
        shell=shell,
        nav="webhooks",
        endpoint=endpoint,
        groups=admin.event_groups(),
        values=values,
        chosen=set(chosen),
        errors=errors or {},
    )


def _secret_page(
    request: Request,
    state: rules.WebSession,
    shell: Shell,
    endpoint: WebhookEndpoint,
    *,
    secret: str,
    rotated: SecretRotated | None,
) -> HTMLResponse:
    response = render(
        request,
        "pages/organization/webhook_secret.html",
        state,
        shell=shell,
        nav="webhooks",
        endpoint=endpoint,
        secret=secret,
        rotated=rotated,
    )
    response.headers.update(_NO_STORE)
    return response


# ---- webhooks: one endpoint -----------------------------------------------------------------


@router.get("/webhooks/{webhook_id}")
async def webhook(
    request: Request,
    *,
    org_id: uuid.UUID,
    webhook_id: uuid.UUID,
    state: WebState,
    org: CanReadWebhooksPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    params = request.query_params
    filters = admin.delivery_filters(params.get("status"), params.get("event_type"))
    view = await admin.webhook_page(
        db, org, webhook_id, filters=filters, cursor=params.get("cursor")
    )
    return render(
        request,
        "pages/organization/webhook.html",
        state,
        shell=shell,
        nav="webhooks",
        view=view,
        filter_query=urlencode(filters.model_dump(exclude_none=True)),
        can_write=_can_write(org),
    )


@router.get("/webhooks/{webhook_id}/edit")
async def edit_webhook_page(
    request: Request,
    *,
    org_id: uuid.UUID,
    webhook_id: uuid.UUID,
    state: WebState,
    org: CanManageWebhooksPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    found = await admin.get_webhook(db, org, webhook_id)
    values = {"url": found.url, "description": found.description or ""}
    return _webhook_form(
        request, state, shell, values=values, chosen=list(found.event_types), endpoint=found
    )


@router.post("/webhooks/{webhook_id}/edit")
async def edit_webhook(
    request: Request,
    *,
    org_id: uuid.UUID,
    webhook_id: uuid.UUID,
    state: WebState,
    form: WebForm,
    org: CanManageWebhooksPage,
    shell: OrgShell,
    db: DbSession,
    resources: AppResources,
) -> Response:
    chosen = await _chosen_events(request)
    try:
        data = admin.webhook_update(form, chosen)
        await admin.update_webhook(db, org, webhook_id, data, resources=resources)
    except (ValidationError, ValidationFailed) as exc:
        errors = schema_errors(exc) if isinstance(exc, ValidationError) else _problem_errors(exc)
        current = await admin.get_webhook(db, org, webhook_id)
        return _webhook_form(
            request, state, shell, values=form, chosen=chosen, errors=errors, endpoint=current
        )
    return redirect(request, _webhook_url(org_id, webhook_id), notice="Webhook endpoint saved.")


@router.post("/webhooks/{webhook_id}/enable")
async def enable_webhook(
    request: Request,
    *,
    org_id: uuid.UUID,
    webhook_id: uuid.UUID,
    org: CanManageWebhooksPage,
    db: DbSession,
    resources: AppResources,
) -> Response:
    await admin.set_enabled(db, org, webhook_id, enabled=True, resources=resources)
    notice = "Webhook endpoint enabled: deliveries resume."
    return redirect(request, _webhook_url(org_id, webhook_id), notice=notice)


@router.post("/webhooks/{webhook_id}/disable")
async def disable_webhook(
    request: Request,
    *,
    org_id: uuid.UUID,
    webhook_id: uuid.UUID,
    org: CanManageWebhooksPage,
    db: DbSession,
    resources: AppResources,
) -> Response:
    await admin.set_enabled(db, org, webhook_id, enabled=False, resources=resources)
    notice = "Webhook endpoint disabled: nothing is sent until it is enabled again."
    return redirect(request, _webhook_url(org_id, webhook_id), notice=notice)


@router.get("/webhooks/{webhook_id}/rotate-secret")
async def rotate_secret_page(
    request: Request,
    *,
    org_id: uuid.UUID,
    webhook_id: uuid.UUID,
    state: WebState,
    org: CanManageWebhooksPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    """The confirmation without JavaScript (with it, a dialog on the endpoint's page)."""
    endpoint = await admin.get_webhook(db, org, webhook_id)
    return _confirm_page(request, state, shell, endpoint, action="rotate-secret")


@router.post("/webhooks/{webhook_id}/rotate-secret")
async def rotate_secret(
    request: Request,
    *,
    org_id: uuid.UUID,
    webhook_id: uuid.UUID,
    state: WebState,
    org: CanManageWebhooksPage,
    shell: OrgShell,
    db: DbSession,
    resources: AppResources,
) -> Response:
    rotated = await admin.rotate_secret(db, org, webhook_id, resources=resources)
    endpoint = await admin.get_webhook(db, org, webhook_id)
    return _secret_page(request, state, shell, endpoint, secret=rotated.secret, rotated=rotated)


@router.post("/webhooks/{webhook_id}/test")
async def test_webhook(
    request: Request,
    *,
    org_id: uuid.UUID,
    webhook_id: uuid.UUID,
    state: WebState,
    org: CanManageWebhooksPage,
    db: DbSession,
    resources: AppResources,
) -> Response:
    """Sends a ``webhook.test`` now and shows the receiver's answer: inline for htmx, else
    on the test delivery's page (its attempt holds the response)."""
    result = await admin.ping(db, org, webhook_id, resources=resources)
    summary = admin.ping_summary(result)
    if is_htmx(request):
        return render(
            request,
            "pages/organization/_ping_result.html",
            state,
            result=result,
            summary=summary,
            delivery_url=_delivery_url(org_id, webhook_id, result.delivery_id),
        )
    return redirect(request, _delivery_url(org_id, webhook_id, result.delivery_id), notice=summary)


@router.get("/webhooks/{webhook_id}/delete")
async def delete_webhook_page(
    request: Request,
    *,
    org_id: uuid.UUID,
    webhook_id: uuid.UUID,
    state: WebState,
    org: CanManageWebhooksPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    """The confirmation without JavaScript (with it, a dialog on the endpoint's page)."""
    endpoint = await admin.get_webhook(db, org, webhook_id)
    return _confirm_page(request, state, shell, endpoint, action="delete")


@router.post("/webhooks/{webhook_id}/delete")
async def delete_webhook(
    request: Request,
    *,
    org_id: uuid.UUID,
    webhook_id: uuid.UUID,
    org: CanManageWebhooksPage,
    db: DbSession,
) -> Response:
    await admin.delete_webhook(db, org, webhook_id)
    notice = "Webhook endpoint deleted, with its delivery log."
    return redirect(request, f"/app/{org_id}/webhooks", notice=notice)


def _confirm_page(
    request: Request,
    state: rules.WebSession,
    shell: Shell,
    endpoint: WebhookEndpoint,
    *,
    action: str,
) -> Response:
    return render(
        request,
        "pages/organization/webhook_confirm.html",
        state,
        shell=shell,
        nav="webhooks",
        endpoint=endpoint,
        action=action,
    )


# ---- webhooks: the delivery log -------------------------------------------------------------


@router.get("/webhooks/{webhook_id}/deliveries/{delivery_id}")
async def delivery(
    request: Request,
    *,
    org_id: uuid.UUID,
    webhook_id: uuid.UUID,
    delivery_id: uuid.UUID,
    state: WebState,
    org: CanReadWebhooksPage,
    shell: OrgShell,
    db: DbSession,
) -> Response:
    view = await admin.delivery_page(db, org, webhook_id, delivery_id)
    return render(
        request,
        "pages/organization/delivery.html",
        state,
        shell=shell,
        nav="webhooks",
        view=view,
        can_write=_can_write(org),
    )


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver")
async def redeliver(
    request: Request,
    *,
    org_id: uuid.UUID,
    webhook_id: uuid.UUID,
    delivery_id: uuid.UUID,
    org: CanManageWebhooksPage,
    db: DbSession,
) -> Response:
    await admin.redeliver(db, org, webhook_id, delivery_id)
    notice = "Delivery queued again: it is sent in a moment, with the same webhook-id."
    return redirect(request, _delivery_url(org_id, webhook_id, delivery_id), notice=notice)


# ---- helpers --------------------------------------------------------------------------------


async def _chosen_events(request: Request) -> list[str]:
    """Every ticked ``event_types`` box: the form dependency keeps one value per name, and a
    checkbox group sends the name once per box (the body is read once and cached)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        return []
    return [value for name, value in pairs if name == "event_types" and value]


def _problem_errors(exc: ValidationFailed) -> dict[str, str]:
    """A refusal's field errors (``body.url``, ``query.since``) by form field; one without
    any is a message for the whole form."""
    errors: list[dict[str, Any]] = exc.extra.get("errors") or []
    named = [
        {**error, "field": str(error.get("field", "")).removeprefix("query.")} for error in errors
    ]
    return rules.field_errors(named) or {"form": exc.detail}


def _can_write(org: OrgAccess) -> bool:
    """Whether the page offers the changes (``webhooks:write``); the routes check again."""
    return access.holds_somewhere(org, "webhooks:write")


def _org_name(shell: Shell) -> str:
    return shell.organization.name if shell.organization else ""


def _webhook_url(org_id: uuid.UUID, webhook_id: uuid.UUID) -> str:
    return f"/app/{org_id}/webhooks/{webhook_id}"


def _delivery_url(org_id: uuid.UUID, webhook_id: uuid.UUID, delivery_id: uuid.UUID) -> str:
    return f"{_webhook_url(org_id, webhook_id)}/deliveries/{delivery_id}"
