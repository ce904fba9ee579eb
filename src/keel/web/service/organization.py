"""The organization's admin pages, composed from the domains' services: plan and usage, the
audit log, webhooks. Every read and change goes through the same service function the API
calls (so the plan gate, the audit entry and the event are the API's own); what is added here
is only how a page shows it: usage as "3 of 3 projects", an audit entry's changes as rows, a
delivery with its last attempt.

Plans are changed by the platform owner only (``PUT /api/v1/admin/orgs/{org_id}/plan``):
billing arrives later, so the plan page offers a request to the operator (the support
address, when one is configured) instead of a button that would change the plan.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import OrgAccess
from keel.audit import service as audit_service
from keel.audit.schemas import ACTION_FILTER, AuditEntryRead, AuditFilters, ExportFormat
from keel.events.schemas import EventType
from keel.kit.deps import Resources
from keel.kit.repository import Window
from keel.kit.schemas import PageParams
from keel.plans import service as plans_service
from keel.plans.schemas import OrganizationPlan, PlanRead
from keel.webhooks import service as webhooks_service
from keel.webhooks.models import WebhookAttempt, WebhookEndpoint
from keel.webhooks.schemas import (
    AttemptResult,
    DeliveryFilters,
    DeliveryRead,
    DeliveryStatus,
    SecretRotated,
    WebhookCreate,
    WebhookUpdate,
)

#: Share of a limit (percent) from which the plan page warns that it is nearly used up.
WARN_PERCENT = 80.0
#: Rows of the audit log and of a delivery log per page.
PAGE_SIZE = 25

# ---- plan and usage -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Usage:
    """One metered limit as the plan page shows it."""

    metric: str
    noun: str
    #: In the limit's units (GiB for storage).
    used: float
    #: -1: unlimited.
    limit: int
    percent: float | None

    @property
    def unlimited(self) -> bool:
        return self.limit < 0

    @property
    def level(self) -> str | None:
        """``full`` at 100 % or more, ``near`` from :data:`WARN_PERCENT`, else None."""
        if self.percent is None:
            return None
        if self.percent >= 100:
            return "full"
        return "near" if self.percent >= WARN_PERCENT else None

    @property
    def text(self) -> str:
        """``3 of 3 projects``; ``Unlimited projects (3 in use)``."""
        if self.unlimited:
            return f"Unlimited {self.noun} ({_amount(self.used)} in use)"
        return f"{_amount(self.used)} of {self.limit:,} {self.noun}"


@dataclass(frozen=True, slots=True)
class PlanOption:
    plan: PlanRead
    current: bool
    #: ``Upgrade`` (costs more than the current plan) or ``Change plan``.
    verb: str
    #: A ``mailto:`` link asking the operator for this plan; None without a support address.
    request_url: str | None


@dataclass(frozen=True, slots=True)
class PlanPage:
    current: OrganizationPlan
    usage: list[Usage]
    options: list[PlanOption]
    support_email: str | None


async def plan_page(
    session: AsyncSession, org: OrgAccess, *, organization: str, support_email: str | None
) -> PlanPage:
    """The plan as ``GET /orgs/{org_id}/plan`` gives it (override included), its metered
    limits, and the public catalog to compare with."""
    current = await plans_service.organization_plan(session, org)
    catalog = await plans_service.public_plans(session)
    return PlanPage(
        current=current,
        usage=usage_of(current),
        options=[
            _option(plan, current.plan, organization=organization, support_email=support_email)
            for plan in catalog
        ],
        support_email=support_email,
    )


def usage_of(current: OrganizationPlan) -> list[Usage]:
    """The metered limits in the plan's feature order (users, projects, storage, API calls);
    limits nothing counts (sessions per user, audit retention) are plan lines, not usage."""
    order = list(current.plan.features)
    rows = [
        Usage(
            metric=metric,
            noun=plans_service.limit_label(metric),
            used=_in_limit_units(metric, value.used),
            limit=value.limit,
            percent=value.percent,
        )
        for metric, value in current.usage.items()
        if value.used is not None
    ]
    return sorted(rows, key=lambda row: order.index(row.metric) if row.metric in order else 99)


#: Limits metered in a smaller unit than they are set in (storage: bytes against GiB).
_METERED_IN = {"max_storage_gb": 1024**3}


def _in_limit_units(metric: str, used: int) -> float:
    return used / _METERED_IN.get(metric, 1)


def _amount(value: float) -> str:
    """Whole numbers as they are, fractions (GiB of storage) to two places."""
    if value == int(value):
        return f"{int(value):,}"
    return "less than 0.01" if value < 0.01 else f"{value:,.2f}"


def _option(
    plan: PlanRead, current: PlanRead, *, organization: str, support_email: str | None
) -> PlanOption:
    verb = "Upgrade" if plan.price_monthly_cents > current.price_monthly_cents else "Change plan"
    return PlanOption(
        plan=plan,
        current=plan.key == current.key,
        verb=verb,
        request_url=plan_request_url(support_email, organization=organization, plan=plan.name),
    )


def plan_request_url(support_email: str | None, *, organization: str, plan: str) -> str | None:
    """``mailto:`` the operator with the organization and the plan it wants."""
    if not support_email:
        return None
    subject = f"Plan change for {organization}: {plan}"
    body = f"Please move the organization “{organization}” to the {plan} plan."
    query = urlencode({"subject": subject, "body": body}, quote_via=quote)
    return f"mailto:{support_email}?{query}"


# ---- audit log ------------------------------------------------------------------------------


Text = Annotated[str, StringConstraints(strip_whitespace=True)]


class AuditLogQuery(BaseModel):
    """The audit log page's filter form (a GET form): the API's filters, with dates for
    people. ``since``/``until`` are whole UTC days, ``until`` included."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    actor: Annotated[Text, Field(max_length=64)] | None = None
    action: Annotated[Text, Field(max_length=100, pattern=ACTION_FILTER)] | None = None
    target_type: Annotated[Text, Field(max_length=50)] | None = None
    target_id: Annotated[Text, Field(max_length=64)] | None = None
    since: date | None = None
    until: date | None = None
    cursor: Annotated[str, Field(max_length=512)] | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        """An empty box of the form is no filter."""
        return None if isinstance(value, str) and not value.strip() else value

    def filters(self) -> AuditFilters:
        return AuditFilters(
            actor=self.actor,
            action=self.action,
            target_type=self.target_type,
            target_id=self.target_id,
            since=_day_start(self.since),
            until=_day_start(self.until + timedelta(days=1)) if self.until else None,
        )

    def params(self) -> dict[str, str]:
        """The filters given, as query parameters (the pager's and the exports' links)."""
        values = self.model_dump(exclude={"cursor"}, exclude_none=True)
        return {name: str(value) for name, value in values.items()}


def _day_start(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class AuditRow:
    entry: AuditEntryRead
    changes: list[Change]

    @property
    def actor_label(self) -> str:
        actor = self.entry.actor
        return actor.name or actor.email or f"{actor.kind}:{actor.id}"


async def audit_page(
    session: AsyncSession, org: OrgAccess, query: AuditLogQuery
) -> Window[AuditRow]:
    """A page of ``GET /orgs/{org_id}/audit-logs`` (newest first, keyset cursor); the caller
    has passed the plan's ``audit_logs`` gate."""
    page = PageParams(limit=PAGE_SIZE, cursor=query.cursor)
    window = await audit_service.list_entries(session, org, query.filters(), page)
    rows = [AuditRow(entry, changes_of(entry.changes)) for entry in window.items]
    return Window(items=rows, next_cursor=window.next_cursor)


def changes_of(changes: Mapping[str, Any] | None) -> list[Change]:
    """An entry's changes as field / before / after, whichever shape the writer used:
    ``{"before": a, "after": b}`` (``audit.rules.diff``), ``[a, b]``, or a bare value."""
    return [_change(name, value) for name, value in (changes or {}).items()]


def _change(name: str, value: Any) -> Change:
    if isinstance(value, dict) and set(value) == {"before", "after"}:
        return Change(name, _shown(value["before"]), _shown(value["after"]))
    if isinstance(value, list) and len(value) == 2:
        return Change(name, _shown(value[0]), _shown(value[1]))
    return Change(name, "", _shown(value))


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


async def start_export(
    resources: Resources, org: OrgAccess, query: AuditLogQuery, fmt: ExportFormat
) -> AsyncIterator[str]:
    """As ``GET /orgs/{org_id}/audit-logs/export``: the export is audited
    (``audit_log.exported``) in a unit of work of its own, committed before the first byte,
    then the rows stream from one read snapshot."""
    filters = query.filters()
    async with resources.database.transaction() as session:
        await audit_service.record_export(session, org, filters, fmt)
    return audit_service.export(
        resources.database,
        org.org_id,
        filters,
        fmt,
        batch_rows=resources.settings.audit.export_batch_rows,
    )


# ---- webhooks -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebhookRow:
    endpoint: WebhookEndpoint
    last: DeliveryRead | None


async def webhooks_page(
    session: AsyncSession, org: OrgAccess, *, cursor: str | None
) -> Window[WebhookRow]:
    """A page of endpoints (``GET /orgs/{org_id}/webhooks``), each with its newest delivery."""
    window = await webhooks_service.list_webhooks(
        session, org, PageParams(limit=PAGE_SIZE, cursor=cursor)
    )
    latest = await webhooks_service.latest_deliveries(
        session, org, [endpoint.id for endpoint in window.items]
    )
    rows = [
        WebhookRow(endpoint, _read_or_none(latest.get(endpoint.id))) for endpoint in window.items
    ]
    return Window(items=rows, next_cursor=window.next_cursor)


def _read_or_none(delivery: Any) -> DeliveryRead | None:
    return None if delivery is None else webhooks_service.delivery_read(delivery)


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    delivery: DeliveryRead
    #: The latest attempt's latency (None before the first attempt).
    latency_ms: int | None


@dataclass(frozen=True, slots=True)
class WebhookDetail:
    endpoint: WebhookEndpoint
    deliveries: list[DeliveryRow]
    next_cursor: str | None
    filters: DeliveryFilters


async def webhook_page(
    session: AsyncSession,
    org: OrgAccess,
    webhook_id: uuid.UUID,
    *,
    filters: DeliveryFilters,
    cursor: str | None,
) -> WebhookDetail:
    """The endpoint and a page of its delivery log (``.../deliveries``), newest first."""
    endpoint = await webhooks_service.get_webhook(session, org, webhook_id)
    window = await webhooks_service.list_deliveries(
        session, org, webhook_id, filters, PageParams(limit=PAGE_SIZE, cursor=cursor)
    )
    last = await webhooks_service.last_attempts(session, org, [d.id for d in window.items])
    rows = [
        DeliveryRow(webhooks_service.delivery_read(d), _latency(last.get(d.id)))
        for d in window.items
    ]
    return WebhookDetail(endpoint, rows, window.next_cursor, filters)


def _latency(attempt: WebhookAttempt | None) -> int | None:
    return None if attempt is None else attempt.latency_ms


@dataclass(frozen=True, slots=True)
class DeliveryDetail:
    endpoint: WebhookEndpoint
    delivery: DeliveryRead
    attempts: list[WebhookAttempt]


async def delivery_page(
    session: AsyncSession, org: OrgAccess, webhook_id: uuid.UUID, delivery_id: uuid.UUID
) -> DeliveryDetail:
    endpoint = await webhooks_service.get_webhook(session, org, webhook_id)
    delivery = await webhooks_service.get_delivery(session, org, webhook_id, delivery_id)
    attempts = await webhooks_service.list_attempts(session, org, webhook_id, delivery_id)
    return DeliveryDetail(endpoint, webhooks_service.delivery_read(delivery), attempts)


@dataclass(frozen=True, slots=True)
class EventGroup:
    """The catalog's events of one publishing domain, for a fieldset of checkboxes."""

    publisher: str
    events: list[EventType]


def event_groups() -> list[EventGroup]:
    """``GET /api/v1/webhooks/event-types``, grouped by the domain that publishes them."""
    groups: dict[str, list[EventType]] = {}
    for event in webhooks_service.event_types():
        groups.setdefault(event.publisher, []).append(event)
    return [EventGroup(name, events) for name, events in sorted(groups.items())]


def webhook_create(fields: Mapping[str, str], event_types: Iterable[str]) -> WebhookCreate:
    """The create form as the API's body (pydantic raises on a malformed field); no box
    ticked is every event, as in the API."""
    return WebhookCreate(
        url=fields.get("url", ""),
        description=fields.get("description") or None,
        event_types=list(event_types),
        enabled=fields.get("enabled") == "on",
    )


def webhook_update(fields: Mapping[str, str], event_types: Iterable[str]) -> WebhookUpdate:
    """The edit form as a PATCH body: URL, description (blank clears it) and events."""
    return WebhookUpdate(
        url=fields.get("url", ""),
        description=fields.get("description") or None,
        event_types=list(event_types),
    )


def delivery_filters(status: str | None, event_type: str | None) -> DeliveryFilters:
    """The delivery log's filters from its GET form; an unknown status is no filter."""
    statuses: tuple[DeliveryStatus, ...] = ("pending", "succeeded", "failed")
    chosen = next((s for s in statuses if s == status), None)
    return DeliveryFilters(status=chosen, event_type=(event_type or "").strip()[:100] or None)


async def get_webhook(
    session: AsyncSession, org: OrgAccess, webhook_id: uuid.UUID
) -> WebhookEndpoint:
    return await webhooks_service.get_webhook(session, org, webhook_id)


async def create_webhook(
    session: AsyncSession, org: OrgAccess, data: WebhookCreate, *, resources: Resources
) -> tuple[WebhookEndpoint, str]:
    return await webhooks_service.create_webhook(session, org, data, settings=resources.settings)


async def update_webhook(
    session: AsyncSession,
    org: OrgAccess,
    webhook_id: uuid.UUID,
    data: WebhookUpdate,
    *,
    resources: Resources,
) -> WebhookEndpoint:
    return await webhooks_service.update_webhook(
        session, org, webhook_id, data, settings=resources.settings
    )


async def set_enabled(
    session: AsyncSession,
    org: OrgAccess,
    webhook_id: uuid.UUID,
    *,
    enabled: bool,
    resources: Resources,
) -> WebhookEndpoint:
    """``PATCH {"enabled": ...}``: enabling queues what waited while it was off."""
    return await webhooks_service.update_webhook(
        session, org, webhook_id, WebhookUpdate(enabled=enabled), settings=resources.settings
    )


async def rotate_secret(
    session: AsyncSession, org: OrgAccess, webhook_id: uuid.UUID, *, resources: Resources
) -> SecretRotated:
    return await webhooks_service.rotate_secret(
        session, org, webhook_id, settings=resources.settings
    )


async def delete_webhook(session: AsyncSession, org: OrgAccess, webhook_id: uuid.UUID) -> None:
    """Its delivery log goes with it."""
    await webhooks_service.delete_webhook(session, org, webhook_id)


async def redeliver(
    session: AsyncSession, org: OrgAccess, webhook_id: uuid.UUID, delivery_id: uuid.UUID
) -> DeliveryRead:
    delivery = await webhooks_service.redeliver(session, org, webhook_id, delivery_id)
    return webhooks_service.delivery_read(delivery)


async def ping(
    session: AsyncSession, org: OrgAccess, webhook_id: uuid.UUID, *, resources: Resources
) -> AttemptResult:
    return await webhooks_service.ping(session, resources, org, webhook_id)


def ping_summary(result: AttemptResult) -> str:
    """The receiver's answer in a sentence ("answered 200 in 12 ms")."""
    if result.response_status is not None:
        verdict = "succeeded" if result.succeeded else "failed"
        return (
            f"Test ping {verdict}: the endpoint answered {result.response_status} "
            f"in {result.latency_ms} ms."
        )
    return f"Test ping failed after {result.latency_ms} ms: {result.error or 'no answer'}."
