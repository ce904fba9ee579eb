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
    """A feature flag was created (through the API or ``keel flags seed-examples``).
    Flags are platform-wide: ``organization_id`` is always null."""

    name = "feature.created"
    example = {
        "flag_id": "0193a1c8-aaaa-7aaa-8bbb-0c1d2e3f4a5b",
        "key": "new-editor",
        "flag_version": 1,
        "changed_by": "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b",
    }


class FeatureEnabled(_FlagEvent):
    """A change switched a flag on (a toggle, an update or a rollback)."""

    name = "feature.enabled"
    example = {
        "flag_id": "0193a1c8-aaaa-7aaa-8bbb-0c1d2e3f4a5b",
        "key": "new-editor",
        "flag_version": 4,
        "changed_by": "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b",
    }


class FeatureDisabled(_FlagEvent):
    """A change switched a flag off."""

    name = "feature.disabled"
    example = {
        "flag_id": "0193a1c8-aaaa-7aaa-8bbb-0c1d2e3f4a5b",
        "key": "new-editor",
        "flag_version": 5,
        "changed_by": "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b",
    }


class FeatureUpdated(_FlagEvent):
    """A change altered anything but the switch; ``fields`` names what
    (``rollout_percentage``, ``targeting.rules``, ...)."""

    name = "feature.updated"
    example = {
        "flag_id": "0193a1c8-aaaa-7aaa-8bbb-0c1d2e3f4a5b",
        "key": "new-editor",
        "flag_version": 3,
        "changed_by": "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b",
        "fields": ["rollout_percentage"],
    }

    fields: list[str]


class FeatureDeleted(_FlagEvent):
    """A feature flag was deleted."""

    name = "feature.deleted"
    example = {
        "flag_id": "0193a1c8-aaaa-7aaa-8bbb-0c1d2e3f4a5b",
        "key": "new-editor",
        "flag_version": 6,
        "changed_by": None,
    }
