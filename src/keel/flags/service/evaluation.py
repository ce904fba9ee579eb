"""Reading flags on the hot path: the compiled ``FlagSet``, cached per process, and the
evaluation context of a caller.

The flags are compiled into one ``FlagSet`` and kept in the near cache
(``keel.kit.near_cache``) under the table tag of ``feature_flags``. Any committed write to
that table drops it here at once and in every other process through the Redis broadcast
(in-process in embedded mode), so a change is live everywhere within milliseconds, and a
warm evaluation makes no query at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import OrgAccess
from keel.config import Settings, get_settings
from keel.flags.models import FeatureFlag
from keel.flags.repository import FlagRepository
from keel.flags.rules import (
    Evaluation,
    EvaluationContext,
    FlagDefinitionError,
    FlagSet,
    JsonValue,
    compile_flag,
    parse_flag,
)
from keel.kit import near_cache
from keel.kit.near_cache import NearCache

log = structlog.get_logger("flags")

T = TypeVar("T")

#: ``KEEL_ENV`` -> the environment flags are evaluated in, unless ``KEEL_FLAGS__ENVIRONMENT``
#: names one (``staging`` is reached only that way). ``test`` runs as ``development`` (a test
#: suite sees what a developer sees).
ENVIRONMENTS: Mapping[str, str] = {
    "development": "development",
    "test": "development",
    "production": "production",
}

_TAGS = (near_cache.table_tag(FeatureFlag),)
#: The near-cache key of the compiled flags (one entry per process and database).
CACHE_KEY = ("flags", "compiled")
near_cache.watch(FeatureFlag, lambda _flag: _TAGS)


async def current_flags(session: AsyncSession) -> FlagSet:
    """Every flag, compiled: from the near cache, else one query and a compile."""

    async def load() -> FlagSet:
        return compile_stored(await FlagRepository(session).definitions())

    return await near_cache.read_through(session, CACHE_KEY, _TAGS, load, size=_weight)


def cached_flags(near: NearCache) -> FlagSet | None:
    """The compiled flags if this process holds a current copy; never any I/O."""
    flags = near.get(CACHE_KEY)
    return flags if isinstance(flags, FlagSet) else None


def _weight(flags: FlagSet) -> int:
    return 4096 * (1 + len(flags.flags))


def compile_stored(documents: Iterable[Mapping[str, Any]]) -> FlagSet:
    """The stored flags compiled together, leaving out (and logging) any that cannot be: a
    definition an older release accepted, or a cycle saved around the change lock. One bad
    flag must not switch every other flag off."""
    flags = []
    for document in documents:
        try:
            flag = parse_flag(document)
            compile_flag(flag)
        except FlagDefinitionError as error:
            _skipped(str(document.get("key")), error)
            continue
        flags.append(flag)
    while True:
        try:
            return FlagSet.compile(flags)
        except FlagDefinitionError as error:
            remaining = [flag for flag in flags if flag.key != error.flag_key]
            if len(remaining) == len(flags):
                raise
            _skipped(str(error.flag_key), error)
            flags = remaining


def _skipped(key: str, error: FlagDefinitionError) -> None:
    log.error("flag.skipped", key=key, field=error.field, problem=error.message)


def environment_for(settings: Settings) -> str:
    """The flag environment of this process: ``KEEL_FLAGS__ENVIRONMENT``, else derived from
    ``KEEL_ENV``."""
    return settings.flags.environment or ENVIRONMENTS[settings.env]


def context_for(org: OrgAccess, *, environment: str | None = None) -> EvaluationContext:
    """Who asks, as the flags see them: the user (none for an API key, which is bucketed by
    its organization), the organization, the user's attributes, and ``plan`` and ``role``,
    which the organization decides and a user attribute of that name cannot override."""
    return EvaluationContext(
        environment=environment or environment_for(get_settings()), **context_fields(org)
    )


def context_fields(org: OrgAccess) -> dict[str, Any]:
    """``EvaluationContext``'s fields but the environment, for ``context_for`` and the
    OpenFeature provider's context of an ``OrgAccess``."""
    actor = org.actor
    attributes = dict(org.subject.attributes)
    attributes["plan"] = org.plan
    if org.role is not None:
        attributes["role"] = org.role
    return {
        "user_id": actor.id if actor.kind == "user" else None,
        "organization_id": str(org.org_id),
        "attributes": attributes,
        "ip": actor.ip,
    }


Who = OrgAccess | EvaluationContext


async def evaluate_for(
    session: AsyncSession,
    who: Who,
    key: str,
    *,
    explain: bool = False,
    environment: str | None = None,
) -> Evaluation:
    """``key`` for ``who``; an unknown key is off with reason ``ERROR`` (``FLAG_NOT_FOUND``).
    ``environment`` applies to an ``OrgAccess`` (default: this process's, from ``KEEL_ENV``);
    an ``EvaluationContext`` carries its own."""
    flags = await current_flags(session)
    return flags.evaluate(key, _context(who, environment), explain=explain)


async def evaluate_all_for(
    session: AsyncSession, who: Who, *, environment: str | None = None
) -> dict[str, Evaluation]:
    return (await current_flags(session)).evaluate_all(_context(who, environment))


async def is_enabled(
    session: AsyncSession, who: Who, key: str, *, environment: str | None = None
) -> bool:
    """Whether ``key`` is on for ``who``: ``await flags_service.is_enabled(db, org, "x")``."""
    return (await evaluate_for(session, who, key, environment=environment)).enabled


async def value(
    session: AsyncSession, who: Who, key: str, *, default: T, environment: str | None = None
) -> JsonValue | T:
    """The served variant's value (``True``/``False`` for a flag without variants), or
    ``default`` when there is none: a flag with variants that is off, or an unknown key."""
    answer = await evaluate_for(session, who, key, environment=environment)
    return default if answer.value is None else answer.value


def _context(who: Who, environment: str | None) -> EvaluationContext:
    if isinstance(who, EvaluationContext):
        return who
    return context_for(who, environment=environment)
