"""Events the flags domain publishes. Flags are platform-wide, so ``organization_id`` is
always None. Payloads carry the flag's id and key, ``flag_version`` (the version the change
produced) and ``changed_by`` (a user id; None when Keel itself made the change):

================  =================================================================
name              when
================  =================================================================
feature.created   a flag was created (through the API or ``keel flags seed-examples``)
feature.enabled   a change switched the flag on (a toggle, an update or a rollback)
feature.disabled  a change switched the flag off
feature.updated   a change altered anything but the switch; ``fields`` names what
                  (``rollout_percentage``, ``targeting.rules``, ...)
feature.deleted   the flag was deleted
================  =================================================================

One change may publish two events: a rollback that switches a flag on and restores its
rules publishes ``feature.enabled`` and ``feature.updated``.
"""

from __future__ import annotations

import uuid

from keel.events.schemas import Event


class _FlagEvent(Event):
    flag_id: uuid.UUID
    key: str
    flag_version: int
    changed_by: uuid.UUID | None


class FeatureCreated(_FlagEvent):
    name = "feature.created"


class FeatureEnabled(_FlagEvent):
    name = "feature.enabled"


class FeatureDisabled(_FlagEvent):
    name = "feature.disabled"


class FeatureUpdated(_FlagEvent):
    name = "feature.updated"

    fields: list[str]


class FeatureDeleted(_FlagEvent):
    name = "feature.deleted"
