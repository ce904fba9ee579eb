"""Small builders for the flags tests: for the engine, a context, a flag switched on, its
targeting; for the service and the API, flags written through the service, a member of an
organization on a plan, the audit entries and events of a flag, and a query counter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from keel.access.schemas import Actor, OrgAccess
from keel.audit.models import AuditLog
from keel.config import Settings
from keel.events.models import EventRecord
from keel.flags import service as flags_service
from keel.flags.models import FeatureFlag
from keel.flags.rules import (
    Evaluation,
    EvaluationContext,
    Flag,
    FlagDefinitionError,
    FlagSet,
    Rule,
    Targeting,
)
from keel.flags.schemas import FlagCreate
from tests.helpers.tenancy import Caller, access_for, add_member, make_caller, make_org

USER, OTHER_USER = "u-1", "u-2"
ORG, OTHER_ORG = "org-1", "org-2"
ABSENT = object()  # an attribute left out of the context


def context(
    environment: str = "production",
    *,
    user: str | None = USER,
    org: str | None = ORG,
    ip: str | None = None,
    **attributes: object,
) -> EvaluationContext:
    return EvaluationContext(
        environment=environment, user_id=user, organization_id=org, attributes=attributes, ip=ip
    )


def flag(key: str = "f", **fields: object) -> Flag:
    return Flag(key=key, **{"enabled": True, **fields})  # type: ignore[arg-type]  # test overrides, typed loosely on purpose


def targeting(**fields: object) -> Targeting:
    return Targeting(**fields)  # type: ignore[arg-type]  # test overrides, typed loosely on purpose


def plan_in(*plans: str) -> Rule:
    return Rule("plan", "in", plans)


def evaluate(subject: Flag, ctx: EvaluationContext, *others: Flag) -> Evaluation:
    return FlagSet.compile([subject, *others]).evaluate(subject.key, ctx)


def definition_error(*flags: Flag) -> FlagDefinitionError:
    with pytest.raises(FlagDefinitionError) as caught:
        FlagSet.compile(flags)
    return caught.value


# ---- the service, the API and the database ----------------------------------------------------
# (below this line: builders for test_service, test_endpoints, test_openfeature, test_propagation)

ADMIN_FLAGS = "/api/v1/admin/flags"


def org_flags_url(org_id: object) -> str:
    return f"/api/v1/orgs/{org_id}/flags"


def flag_body(key: str = "beta", **fields: Any) -> dict[str, Any]:
    """A definition as the admin API takes it: enabled, everyone, all environments."""
    return {"key": key, "name": key.replace("_", " ").title(), "enabled": True, **fields}


async def make_flag(db: AsyncSession, key: str = "beta", **fields: Any) -> FeatureFlag:
    """A flag created through the service, by Keel itself (audited, with history)."""
    return await flags_service.create_flag(
        db, Actor.system("test"), FlagCreate.model_validate(flag_body(key, **fields))
    )


async def member_access(
    db: AsyncSession,
    settings: Settings,
    *,
    plan: str = "free",
    role: str = "member",
    attributes: dict[str, Any] | None = None,
) -> tuple[Caller, OrgAccess]:
    """A member of a new organization on ``plan``, with user ``attributes``, and their proof
    of access as a request of theirs gets it."""
    admin = await make_caller(db, settings)
    org = await make_org(db, admin.user)
    org.plan = plan
    member = await make_caller(db, settings, attributes=attributes or {})
    await add_member(db, org, member.user, role=role)
    return member, await access_for(db, member.user, org)


async def audit_actions(db: AsyncSession, flag_id: object) -> list[str]:
    stmt = (
        select(AuditLog.action)
        .where(AuditLog.target_type == "feature_flag", AuditLog.target_id == str(flag_id))
        .order_by(AuditLog.occurred_at, AuditLog.id)
    )
    return list((await db.scalars(stmt)).all())


async def published(db: AsyncSession, key: str) -> list[tuple[str, dict[str, Any]]]:
    """``(name, payload)`` of the ``feature.*`` events published about ``key``, oldest first."""
    stmt = (
        select(EventRecord)
        .where(EventRecord.name.startswith("feature."))
        .order_by(EventRecord.occurred_at, EventRecord.id)
    )
    rows = (await db.scalars(stmt)).all()
    return [(row.name, row.payload) for row in rows if row.payload.get("key") == key]


@dataclass
class QueryCount:
    """SQL statements sent to the database while counting (SAVEPOINTs, which only the
    tests' rolled-back outer transaction adds, left out)."""

    statements: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.statements)


@contextmanager
def counting_queries(engine: AsyncEngine) -> Iterator[QueryCount]:
    count = QueryCount()

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            count.statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        yield count
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
