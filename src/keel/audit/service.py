"""``audit_service.record``: the one way an audit entry is written (GUIDE §3.5)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit import repository, rules
from keel.audit.models import AuditLog
from keel.audit.schemas import Target


async def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    *,
    target: Target | None = None,
    changes: dict[str, Any] | None = None,
    organization_id: uuid.UUID | None = None,
    context: dict[str, Any] | None = None,
) -> AuditLog:
    """Write an entry in the caller's transaction: it exists exactly when the change does.

    ``action`` is ``entity.verb`` (``project.created``). The organization is the one given,
    else the target's, else the actor's. Secret-looking fields in ``changes`` and
    ``context`` are masked.
    """
    entry = AuditLog(
        organization_id=organization_id
        or (target.organization_id if target else None)
        or actor.organization_id,
        actor_kind=actor.kind,
        actor_id=actor.id,
        action=action,
        target_type=target.type if target else None,
        target_id=target.id if target else None,
        changes=rules.mask_secrets(changes) if changes else None,
        context=rules.mask_secrets(context) if context else None,
        ip=actor.ip,
        user_agent=(actor.user_agent or "")[:500] or None,
        request_id=actor.request_id,
    )
    await repository.add(session, entry)
    return entry
