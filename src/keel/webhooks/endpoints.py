"""``/api/v1/orgs/{org_id}/webhooks`` (endpoints, their delivery log), the organization's
``/integrations/slack``, and the event catalog ``/api/v1/webhooks/event-types``: parse, call
the service, return."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Response

from keel.auth.dependencies import CurrentActor, Idempotent
from keel.events.schemas import EventType
from keel.kit.deps import AppResources, AppSettings, DbSession
from keel.kit.routing import api_router
from keel.kit.schemas import Page, Pagination
from keel.organizations.dependencies import CanManageWebhooks, CanReadWebhooks
from keel.webhooks import service
from keel.webhooks.models import WebhookAttempt, WebhookEndpoint
from keel.webhooks.schemas import (
    AttemptRead,
    AttemptResult,
    DeliveryFilters,
    DeliveryRead,
    DeliveryStatus,
    SecretRotated,
    SlackRead,
    SlackWrite,
    WebhookCreate,
    WebhookRead,
    WebhookSecretRead,
    WebhookUpdate,
)

router = api_router(tags=["webhooks"])

WEBHOOKS = "/orgs/{org_id}/webhooks"
WEBHOOK = WEBHOOKS + "/{webhook_id}"
DELIVERIES = WEBHOOK + "/deliveries"
DELIVERY = DELIVERIES + "/{delivery_id}"
SLACK = "/orgs/{org_id}/integrations/slack"


async def delivery_filters(
    status: Annotated[
        DeliveryStatus | None, Query(description="Only deliveries in this state.")
    ] = None,
    event_type: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Only this event's.")
    ] = None,
) -> DeliveryFilters:
    return DeliveryFilters(status=status, event_type=event_type)


DeliveryQuery = Annotated[DeliveryFilters, Depends(delivery_filters)]


def _read(endpoint: WebhookEndpoint) -> WebhookRead:
    return WebhookRead.model_validate(endpoint, from_attributes=True)


@router.get("/webhooks/event-types", response_model=list[EventType])
async def list_event_types(actor: CurrentActor) -> list[EventType]:
    return service.event_types()


@router.post(WEBHOOKS, status_code=201, response_model=WebhookSecretRead)
async def create_webhook(
    body: WebhookCreate,
    org: CanManageWebhooks,
    db: DbSession,
    settings: AppSettings,
    idempotency: Idempotent,
) -> WebhookSecretRead:
    endpoint, secret = await service.create_webhook(db, org, body, settings=settings)
    return WebhookSecretRead(**_read(endpoint).model_dump(), secret=secret)


@router.get(WEBHOOKS, response_model=Page[WebhookRead])
async def list_webhooks(org: CanReadWebhooks, db: DbSession, page: Pagination) -> Page[WebhookRead]:
    window = await service.list_webhooks(db, org, page)
    return Page[WebhookRead](items=[_read(e) for e in window.items], next_cursor=window.next_cursor)


@router.get(WEBHOOK, response_model=WebhookRead)
async def read_webhook(webhook_id: uuid.UUID, org: CanReadWebhooks, db: DbSession) -> WebhookRead:
    return _read(await service.get_webhook(db, org, webhook_id))


@router.patch(WEBHOOK, response_model=WebhookRead)
async def update_webhook(
    webhook_id: uuid.UUID,
    body: WebhookUpdate,
    org: CanManageWebhooks,
    db: DbSession,
    settings: AppSettings,
) -> WebhookRead:
    return _read(await service.update_webhook(db, org, webhook_id, body, settings=settings))


@router.delete(WEBHOOK, status_code=204)
async def delete_webhook(webhook_id: uuid.UUID, org: CanManageWebhooks, db: DbSession) -> Response:
    await service.delete_webhook(db, org, webhook_id)
    return Response(status_code=204)


@router.post(WEBHOOK + "/rotate-secret", response_model=SecretRotated)
async def rotate_secret(
    webhook_id: uuid.UUID, org: CanManageWebhooks, db: DbSession, settings: AppSettings
) -> SecretRotated:
    return await service.rotate_secret(db, org, webhook_id, settings=settings)


@router.post(WEBHOOK + "/test", response_model=AttemptResult)
async def test_webhook(
    webhook_id: uuid.UUID, org: CanManageWebhooks, db: DbSession, resources: AppResources
) -> AttemptResult:
    return await service.ping(db, resources, org, webhook_id)


@router.get(DELIVERIES, response_model=Page[DeliveryRead])
async def list_deliveries(
    webhook_id: uuid.UUID,
    org: CanReadWebhooks,
    db: DbSession,
    filters: DeliveryQuery,
    page: Pagination,
) -> Page[DeliveryRead]:
    window = await service.list_deliveries(db, org, webhook_id, filters, page)
    items = [service.delivery_read(d) for d in window.items]
    return Page[DeliveryRead](items=items, next_cursor=window.next_cursor)


@router.get(DELIVERY, response_model=DeliveryRead)
async def read_delivery(
    webhook_id: uuid.UUID, delivery_id: uuid.UUID, org: CanReadWebhooks, db: DbSession
) -> DeliveryRead:
    return service.delivery_read(await service.get_delivery(db, org, webhook_id, delivery_id))


@router.get(DELIVERY + "/attempts", response_model=list[AttemptRead])
async def list_attempts(
    webhook_id: uuid.UUID, delivery_id: uuid.UUID, org: CanReadWebhooks, db: DbSession
) -> list[AttemptRead]:
    attempts: list[WebhookAttempt] = await service.list_attempts(db, org, webhook_id, delivery_id)
    return [AttemptRead.model_validate(a, from_attributes=True) for a in attempts]


@router.post(DELIVERY + "/redeliver", status_code=202, response_model=DeliveryRead)
async def redeliver(
    webhook_id: uuid.UUID,
    delivery_id: uuid.UUID,
    org: CanManageWebhooks,
    db: DbSession,
    idempotency: Idempotent,
) -> DeliveryRead:
    return service.delivery_read(await service.redeliver(db, org, webhook_id, delivery_id))


# ---- Slack --------------------------------------------------------------------------------------


@router.get(SLACK, response_model=SlackRead)
async def read_slack(org: CanReadWebhooks, db: DbSession) -> SlackRead:
    return service.slack_read(await service.get_slack(db, org))


@router.put(SLACK, response_model=SlackRead)
async def put_slack(
    body: SlackWrite, org: CanManageWebhooks, db: DbSession, settings: AppSettings
) -> SlackRead:
    return service.slack_read(await service.put_slack(db, org, body, settings=settings))


@router.delete(SLACK, status_code=204)
async def delete_slack(org: CanManageWebhooks, db: DbSession) -> Response:
    await service.delete_slack(db, org)
    return Response(status_code=204)


@router.post(SLACK + "/test", response_model=AttemptResult)
async def test_slack(
    org: CanManageWebhooks, db: DbSession, resources: AppResources
) -> AttemptResult:
    return await service.ping_slack(db, resources, org)
