"""ABAC policies an organization's admins write, and the explain answer.

A policy narrows what RBAC allows for one ``resource_type`` and ``action`` of the permission
catalog (``documents`` + ``read`` for ``documents:read``): deny overrides allow, and once an
allow policy exists one of them must hold (see ``keel.access.rules``). A policy is compiled by
the access engine before it is stored, so a bad time zone or window is a 422 at write time,
never a failure at request time. Every change bumps the organization's ``access_version``:
the compiled policy set cached per version is rebuilt on the next request.

Explain answers "may this member do this, and why?" with the same subject and policies a
request of theirs would get (``access.member_subject``, the caller's compiled set).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access import service as access
from keel.access.rules import PERMISSIONS, Decision, Environment, Resource, decide
from keel.access.schemas import OrgAccess
from keel.audit import rules as audit_rules
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.events import service as events_service
from keel.kit import clock
from keel.kit.errors import ValidationFailed
from keel.kit.schemas import Page, PageParams
from keel.organizations import rules
from keel.organizations.errors import ObjectNotFound, OrganizationNotFound, PolicyInvalid
from keel.organizations.events import (
    AccessPolicyCreated,
    AccessPolicyDeleted,
    AccessPolicyUpdated,
)
from keel.organizations.models import AccessPolicy
from keel.organizations.repository import organizations as org_repository
from keel.organizations.repository.policies import PolicyRepository
from keel.organizations.schemas import (
    ConditionIn,
    ExplainRead,
    ExplainRequest,
    PolicyCreate,
    PolicyRead,
    PolicyUpdate,
)
from keel.organizations.service.access import bump_access_version, member_subject

MANAGE = "settings:update"
_FIELDS = ("name", "description", "effect", "conditions", "enabled")


async def create(session: AsyncSession, org: OrgAccess, data: PolicyCreate) -> PolicyRead:
    access.ensure(org, MANAGE)
    _ensure_in_catalog(data.resource_type, data.action)
    policy = AccessPolicy(
        organization_id=org.org_id,
        name=data.name.strip(),
        description=data.description,
        resource_type=data.resource_type,
        action=data.action,
        effect=data.effect,
        conditions=_conditions(data.conditions),
        enabled=data.enabled,
    )
    _compile(policy)
    await PolicyRepository(session, org.org_id).add(policy)
    await _changed(session, org, policy, "access_policy.created", _snapshot(policy))
    await events_service.publish(
        session, AccessPolicyCreated(organization_id=org.org_id, policy_id=policy.id)
    )
    return _read(policy)


async def list_page(session: AsyncSession, org: OrgAccess, page: PageParams) -> Page[PolicyRead]:
    access.ensure(org, MANAGE)
    window = await PolicyRepository(session, org.org_id).page(page)
    return Page(items=[_read(p) for p in window.items], next_cursor=window.next_cursor)


async def get(session: AsyncSession, org: OrgAccess, policy_id: uuid.UUID) -> PolicyRead:
    return _read(await _policy(session, org, policy_id))


async def update(
    session: AsyncSession, org: OrgAccess, policy_id: uuid.UUID, data: PolicyUpdate
) -> PolicyRead:
    policy = await _policy(session, org, policy_id)
    before = _snapshot(policy)
    given = data.model_fields_set
    if data.name is not None:
        policy.name = data.name.strip()
    if "description" in given:
        policy.description = data.description
    if data.effect is not None:
        policy.effect = data.effect
    if data.conditions is not None:
        policy.conditions = _conditions(data.conditions)
    if data.enabled is not None:
        policy.enabled = data.enabled
    changes = audit_rules.diff(before, _snapshot(policy))
    if not changes:
        return _read(policy)
    _compile(policy)
    await session.flush()
    await _changed(session, org, policy, "access_policy.updated", changes)
    await events_service.publish(
        session, AccessPolicyUpdated(organization_id=org.org_id, policy_id=policy.id)
    )
    return _read(policy)


async def delete(session: AsyncSession, org: OrgAccess, policy_id: uuid.UUID) -> None:
    policy = await _policy(session, org, policy_id)
    await _changed(session, org, policy, "access_policy.deleted", _snapshot(policy))
    await events_service.publish(
        session, AccessPolicyDeleted(organization_id=org.org_id, policy_id=policy.id)
    )
    await PolicyRepository(session, org.org_id).delete(policy)


# ---- explain ---------------------------------------------------------------------------------


async def explain(session: AsyncSession, org: OrgAccess, data: ExplainRequest) -> ExplainRead:
    """The decision a request of ``data.user_id`` would get, with its trace. The user must be
    a member of this organization (404 otherwise, as for any object of another tenant)."""
    access.ensure(org, MANAGE)
    permission = f"{data.resource.type}:{data.action}"
    _ensure_in_catalog(data.resource.type, data.action, error=ValidationFailed)
    subject = await member_subject(session, org, data.user_id)
    if subject is None:
        raise ObjectNotFound("No member with this user id in this organization.")
    resource = Resource(
        type=data.resource.type,
        organization_id=org.org_id,
        owner_id=data.resource.owner_id,
        team_id=data.resource.team_id,
        attributes=data.resource.attributes,
    )
    environment = Environment(ip=data.context.ip, now=_when(data.context.time))
    return _explained(decide(subject, permission, resource, environment, org.policies))


def _when(value: datetime | None) -> datetime:
    if value is None:
        return clock.now()
    if value.tzinfo is None:
        raise ValidationFailed(
            "context.time has no time zone; give an offset, e.g. 2025-03-04T10:00:00+01:00.",
            errors=[{"field": "body.context.time", "message": "must include a UTC offset"}],
        )
    return value


def _explained(decision: Decision) -> ExplainRead:
    rbac, policy = decision.rbac, decision.policy
    return ExplainRead(
        allowed=decision.allowed,
        decided_by="rbac" if decision.outcome in ("rbac", "rbac-denied") else "policy",
        role=rbac.role.name if rbac.role else None,
        grant=str(rbac.grant) if rbac.grant else None,
        policy=(
            {"id": policy.id, "name": policy.name, "effect": policy.effect} if policy else None
        ),
        condition=str(decision.condition) if decision.condition else None,
        trace=decision.trace,
    )


# ---- helpers ---------------------------------------------------------------------------------


async def _policy(session: AsyncSession, org: OrgAccess, policy_id: uuid.UUID) -> AccessPolicy:
    policy = await PolicyRepository(session, org.org_id).get(policy_id)
    if policy is None:
        raise ObjectNotFound("No access policy with this id here; list them to find it.")
    access.ensure(org, MANAGE)
    return policy


def _ensure_in_catalog(
    resource_type: str, action: str, *, error: type[ValidationFailed] = PolicyInvalid
) -> None:
    if f"{resource_type}:{action}" not in PERMISSIONS:
        known = ", ".join(sorted(PERMISSIONS))
        message = f"{resource_type}:{action} is not in the permission catalog; use one of {known}"
        raise error(f"{message}.", errors=[{"field": "body.action", "message": message}])


def _conditions(conditions: list[ConditionIn]) -> list[dict[str, Any]]:
    return [c.model_dump(mode="json", exclude_none=True) for c in conditions]


def _compile(policy: AccessPolicy) -> None:
    """Let the access engine parse the policy now (bad zone, empty window: 422 with the fix)."""
    for index, condition in enumerate(policy.conditions):
        try:
            rules.condition_of(condition)
        except ValueError as exc:
            raise PolicyInvalid(
                f"Condition {index} of the policy is not valid: {exc}.",
                errors=[{"field": f"body.conditions.{index}", "message": str(exc)}],
            ) from None


async def _changed(
    session: AsyncSession,
    org: OrgAccess,
    policy: AccessPolicy,
    action: str,
    changes: dict[str, Any],
) -> None:
    """Audit the change and bump ``access_version``: what every policy write ends with."""
    found = await org_repository.get(session, org.org_id)
    if found is None:
        raise OrganizationNotFound()
    await bump_access_version(session, found)
    target = Target(type="access_policy", id=str(policy.id), organization_id=org.org_id)
    await audit_service.record(session, org.actor, action, target=target, changes=changes)


def _snapshot(policy: AccessPolicy) -> dict[str, Any]:
    return {field: getattr(policy, field) for field in _FIELDS}


def _read(policy: AccessPolicy) -> PolicyRead:
    return PolicyRead.model_validate(policy, from_attributes=True)
