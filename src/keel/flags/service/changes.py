"""Changing flags, and reading them for the admin API.

A change (create, update, toggle, rollback, delete) is validated against every other flag,
then writes a row of history (the whole definition and the diff), an audit entry and the
``feature.*`` events, all in the caller's transaction (GUIDE §3.5). A change that changes
nothing writes nothing. Changes are serialized by a lock (``FlagRepository.lock_changes``),
so two of them cannot each pass validation alone and together save a prerequisite cycle.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.events import service as events_service
from keel.events.schemas import Event
from keel.flags import events
from keel.flags.errors import (
    FlagChangedConcurrently,
    FlagDefinitionInvalid,
    FlagKeyTaken,
    FlagNotFound,
    FlagPrerequisiteCycle,
    UnknownFlagVersion,
)
from keel.flags.models import (
    CREATED,
    DELETED,
    DISABLED,
    ENABLED,
    ROLLED_BACK,
    UPDATED,
    FeatureFlag,
    FeatureFlagVersion,
)
from keel.flags.repository import FlagRepository, VersionRepository
from keel.flags.rules import (
    EXAMPLE_FLAGS,
    Flag,
    FlagDefinitionError,
    FlagSet,
    compile_flag,
    find_prerequisite_cycle,
    parse_flag,
)
from keel.flags.schemas import FlagCreate, FlagUpdate, flag_document
from keel.flags.service.evaluation import compile_stored
from keel.kit.db import unique_or_raise
from keel.kit.repository import Window
from keel.kit.schemas import PageParams

# ---- reading, for the admin API ----------------------------------------------------------------


async def list_flags(session: AsyncSession, page: PageParams) -> Window[FeatureFlag]:
    """Every flag, newest first."""
    return await FlagRepository(session).page(page)


async def get_flag(session: AsyncSession, key: str) -> FeatureFlag:
    flag = await FlagRepository(session).by_key(key)
    if flag is None:
        raise FlagNotFound(f"No feature flag has the key {key!r}.")
    return flag


async def history(session: AsyncSession, key: str, page: PageParams) -> Window[FeatureFlagVersion]:
    """Every change to ``key``, newest first; a deleted flag keeps its history."""
    window = await VersionRepository(session).page(key, page)
    if not window.items and page.cursor is None:
        raise FlagNotFound(f"No feature flag has ever had the key {key!r}.")
    return window


# ---- changing ----------------------------------------------------------------------------------


async def create_flag(session: AsyncSession, actor: Actor, data: FlagCreate) -> FeatureFlag:
    return await _create(session, actor, data.model_dump())


async def update_flag(
    session: AsyncSession, actor: Actor, key: str, data: FlagUpdate
) -> FeatureFlag:
    changes = data.model_dump(exclude_unset=True)
    return await _change(
        session, actor, key, UPDATED, lambda current: {**current, **changes}, typed=True
    )


async def set_enabled(
    session: AsyncSession, actor: Actor, key: str, *, enabled: bool
) -> FeatureFlag:
    """Switch the flag on or off; switching it to the state it is in changes nothing."""
    action = ENABLED if enabled else DISABLED
    return await _change(
        session, actor, key, action, lambda current: {**current, "enabled": enabled}
    )


async def rollback(session: AsyncSession, actor: Actor, key: str, *, version: int) -> FeatureFlag:
    """Make version ``version``'s definition current again, as a new version: history is
    never rewritten, so a rollback can itself be rolled back."""
    target = await VersionRepository(session).numbered(key, version)
    if target is None:
        await get_flag(session, key)  # 404 for an unknown flag, before the version's 422
        raise UnknownFlagVersion(
            f"Flag {key!r} has no version {version}.",
            errors=[{"field": "body.version", "message": "not a version of this flag"}],
        )
    restored = dict(target.definition)
    return await _change(session, actor, key, ROLLED_BACK, lambda _current: restored)


async def delete_flag(session: AsyncSession, actor: Actor, key: str) -> None:
    """Flags that require this one stay valid and evaluate as off (``PREREQUISITE_MISSING``)."""
    flags = FlagRepository(session)
    await flags.lock_changes()
    flag = await get_flag(session, key)
    flag.version += 1
    await _record(session, actor, flag, DELETED, before=flag.definition, after=None)
    await flags.delete(flag)


async def seed_examples(session: AsyncSession, actor: Actor) -> list[str]:
    """Create the example flags (``keel.flags.rules.EXAMPLE_FLAGS``) that do not exist; flags
    already there, changed or not, are left alone. Returns the keys created."""
    flags = FlagRepository(session)
    await flags.lock_changes()
    created = []
    for example in EXAMPLE_FLAGS:
        if await flags.by_key(example.key) is None:
            await _create(session, actor, flag_document(example))
            created.append(example.key)
    return created


async def _create(session: AsyncSession, actor: Actor, document: dict[str, Any]) -> FeatureFlag:
    flags = FlagRepository(session)
    await flags.lock_changes()
    flag = _parse(document)
    taken = FlagKeyTaken(f"A feature flag with the key {flag.key!r} already exists.")
    if await flags.by_key(flag.key) is not None:
        raise taken
    stored = await _validated(session, flag, before=None, typed=True)
    row = FeatureFlag(
        key=flag.key,
        definition=stored,
        version=await VersionRepository(session).last_number(flag.key) + 1,
        created_by=actor.user_id,
        updated_by=actor.user_id,
    )
    async with unique_or_raise(session, taken):
        await flags.add(row)
    await _record(session, actor, row, CREATED, before=None, after=stored)
    return row


async def _change(
    session: AsyncSession,
    actor: Actor,
    key: str,
    action: str,
    new_document: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    typed: bool = False,
) -> FeatureFlag:
    """Apply ``new_document(current definition)`` to the flag. ``typed``: the change was
    typed by a person, so a prerequisite it adds must name an existing flag."""
    await FlagRepository(session).lock_changes()
    flag = await get_flag(session, key)
    before = flag.definition
    after = await _validated(session, _parse(new_document(before)), before=before, typed=typed)
    if _canonical(after) == _canonical(before):
        return flag
    flag.definition, flag.version, flag.updated_by = after, flag.version + 1, actor.user_id
    await session.flush()
    await _record(session, actor, flag, action, before=before, after=after)
    return flag


async def _record(
    session: AsyncSession,
    actor: Actor,
    flag: FeatureFlag,
    action: str,
    *,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """The history row, the audit entry and the events of one change."""
    diff = definition_diff(before, after)
    entry = FeatureFlagVersion(
        flag_id=flag.id,
        key=flag.key,
        version=flag.version,
        action=action,
        definition=after if after is not None else before,
        diff=diff,
        changed_by=actor.user_id,
    )
    async with unique_or_raise(session, FlagChangedConcurrently()):
        await VersionRepository(session).add(entry)
    await audit_service.record(
        session,
        actor,
        f"feature.{action}",
        target=Target("feature_flag", str(flag.id)),
        changes=diff,
        context={"key": flag.key, "version": flag.version},
    )
    for event in _events(flag, action, diff, actor):
        await events_service.publish(session, event)


def _events(flag: FeatureFlag, action: str, diff: Mapping[str, Any], actor: Actor) -> list[Event]:
    about = {
        "flag_id": flag.id,
        "key": flag.key,
        "flag_version": flag.version,
        "changed_by": actor.user_id,
    }
    if action == CREATED:
        return [events.FeatureCreated.model_validate(about)]
    if action == DELETED:
        return [events.FeatureDeleted.model_validate(about)]
    published: list[Event] = []
    if "enabled" in diff:
        switched = events.FeatureEnabled if diff["enabled"]["after"] else events.FeatureDisabled
        published.append(switched.model_validate(about))
    fields = [name for name in diff if name != "enabled"]
    if fields:
        published.append(events.FeatureUpdated.model_validate({**about, "fields": fields}))
    return published


# ---- validating a definition -------------------------------------------------------------------


def _parse(document: Mapping[str, object]) -> Flag:
    try:
        flag = parse_flag(document)
        compile_flag(flag)
    except FlagDefinitionError as error:
        raise _invalid(error.field, error.message) from None
    return flag


async def _validated(
    session: AsyncSession, flag: Flag, *, before: Mapping[str, Any] | None, typed: bool
) -> dict[str, Any]:
    """``flag``'s stored form, once it is known to compile together with every other flag:
    no prerequisite cycle, no other flag left requiring a variant this one drops."""
    stored = [d for d in await FlagRepository(session).definitions() if d.get("key") != flag.key]
    others = [c.definition for c in compile_stored(stored).flags.values()]
    if typed:
        _check_prerequisites_exist(flag, {str(d.get("key")) for d in stored}, before)
    cycle = find_prerequisite_cycle([flag, *others])  # walked from the flag saved first
    if cycle:
        message = f"prerequisites form a cycle {' -> '.join(cycle)}; remove one of these links"
        raise FlagPrerequisiteCycle(
            message, cycle=list(cycle), errors=[{"field": "body.prerequisites", "message": message}]
        )
    try:
        FlagSet.compile([*others, flag])
    except FlagDefinitionError as error:
        if error.flag_key in (None, flag.key):
            raise _invalid(error.field, error.message) from None
        raise _invalid(
            "variants", f"flag {error.flag_key!r} requires it: {error.message}"
        ) from None
    return flag_document(flag)


def _check_prerequisites_exist(
    flag: Flag, known: set[str], before: Mapping[str, Any] | None
) -> None:
    """A typo in a new prerequisite would switch the flag off for everyone, so it is refused;
    one that was there before and whose flag was deleted since is kept (docs/flags.md)."""
    kept = {str(p.get("flag")) for p in (before or {}).get("prerequisites", ())}
    for n, prerequisite in enumerate(flag.prerequisites):
        if prerequisite.flag not in known and prerequisite.flag not in kept:
            raise _invalid(
                f"prerequisites[{n}].flag",
                f"no flag has the key {prerequisite.flag!r}; create it first or fix the key",
            )


_INDEX = re.compile(r"\[(\d+)\]")


def _invalid(field: str, message: str) -> FlagDefinitionInvalid:
    """The engine's path (``targeting.rules[0].value``) as the API's (``body.targeting.rules.0
    .value``), so every field error of a request reads alike."""
    path = "body." + _INDEX.sub(r".\1", field)
    return FlagDefinitionInvalid(f"{path}: {message}", errors=[{"field": path, "message": message}])


def definition_diff(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """``{"targeting.rules": {"before": ..., "after": ...}}`` for each field that differs;
    objects are walked, lists compared whole."""
    old, new = _flatten(before or {}), _flatten(after or {})
    return {
        path: {"before": old.get(path), "after": new.get(path)}
        for path in sorted(old.keys() | new.keys())
        if _canonical(old.get(path)) != _canonical(new.get(path))
    }


def _flatten(document: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in document.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def _canonical(value: object) -> str:
    """JSON text to compare by: in Python ``True == 1`` and ``[True] == [1]``, in a rule not."""
    return json.dumps(value, sort_keys=True)
