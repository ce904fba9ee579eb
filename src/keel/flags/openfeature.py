"""Keel's flags behind the standard OpenFeature API (package ``openfeature-sdk``).

    from openfeature import api
    from keel.flags.openfeature import install, org_context

    install(resources.database, environment="production")  # once per process, at start
    client = api.get_client()
    details = await client.get_boolean_details_async("ai_assistant", False, org_context(org))

The provider evaluates with the same compiled flags as ``keel.flags.service`` (the per-process
near cache, dropped everywhere on every committed change), so both always agree.

- The **async** methods are the ones to use in Keel's async code: they reload the flags when
  a change dropped them (one query), and otherwise do no I/O.
- The **sync** methods never do I/O. They answer from this process's current copy; after a
  change, until a reload, from the previous copy with reason ``STALE`` (and start that reload
  when called on the event loop's thread); before the first load, with the default and
  ``PROVIDER_NOT_READY``. ``await provider.warm()`` loads the flags once at start. Call
  them on the event loop's thread: the near cache they read is not made for other threads.

The OpenFeature context maps to Keel's as follows: ``targeting_key`` is the user id;
the attributes ``organization_id``, ``ip`` and ``environment`` (one of development, staging,
production; default: the provider's) fill the context's own fields; every other attribute is
an attribute for rules (``plan``, ``app_version``...). Answers use OpenFeature's reasons;
``flag_metadata`` carries Keel's finer ``cause`` and ``enabled``. Errors, always with the
default value and reason ``ERROR``:

==================  ==========================================================
error code          when
==================  ==========================================================
FLAG_NOT_FOUND      no flag has the key
TYPE_MISMATCH       the flag serves another type (a flag without variants
                    serves booleans; ``object`` means a JSON object or list)
INVALID_CONTEXT     an id that is not text, an unknown environment
GENERAL             a prerequisite of the flag no longer exists
PROVIDER_NOT_READY  sync call before the flags were ever loaded
==================  ==========================================================
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeAlias, TypeVar

import structlog
from openfeature import api
from openfeature.evaluation_context import EvaluationContext as OpenFeatureContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType, Reason
from openfeature.provider import AbstractProvider, Metadata

from keel.access.schemas import OrgAccess
from keel.flags import service
from keel.flags.rules import Evaluation, EvaluationContext, FlagSet, JsonValue
from keel.kit.db import Database

log = structlog.get_logger("flags")

T = TypeVar("T")
ObjectValue: TypeAlias = Sequence[FlagValueType] | Mapping[str, FlagValueType]


class _Mismatch:
    """What a reader returns for a value of the wrong type (``None`` is a value's absence)."""


MISMATCH = _Mismatch()


class KeelProvider(AbstractProvider):
    """An OpenFeature provider over ``database``'s flags, evaluated in ``environment``."""

    def __init__(self, database: Database, *, environment: str) -> None:
        super().__init__()
        self._database = database
        self._environment = environment
        self._latest: FlagSet | None = None
        self._refresh: asyncio.Task[None] | None = None

    def get_metadata(self) -> Metadata:
        return Metadata(name="keel")

    async def warm(self) -> None:
        """Load the flags, so that sync calls have a copy to answer from."""
        await self._load()

    async def settle(self) -> None:
        """Wait for a reload the sync path started (tests, shutdown)."""
        if self._refresh is not None:
            with contextlib.suppress(Exception):
                await self._refresh

    async def _load(self) -> FlagSet:
        async with self._database.read_sessionmaker() as session:
            flags = await service.current_flags(session)
        self._latest = flags
        return flags

    def _now(self) -> tuple[FlagSet | None, bool]:
        """The flags for a sync call, and whether they are a stale copy."""
        flags = service.cached_flags(self._database.near)
        if flags is not None:
            self._latest = flags
            return flags, False
        self._reload_soon()
        return self._latest, self._latest is not None

    def _reload_soon(self) -> None:
        if self._refresh is not None and not self._refresh.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop on this thread: the next async call reloads
            return
        self._refresh = loop.create_task(self._reload())

    async def _reload(self) -> None:
        try:
            await self._load()
        except Exception:
            log.warning("flags.provider_reload_failed", exc_info=True)

    # ---- resolution --------------------------------------------------------------------------

    def context_of(self, context: OpenFeatureContext | None) -> EvaluationContext:
        """Keel's context for an OpenFeature one; ``TypeError``/``ValueError`` when invalid."""
        attributes: dict[str, Any] = dict(context.attributes) if context is not None else {}
        user_id = attributes.pop("user_id", None)
        targeting_key = context.targeting_key if context is not None else None
        return EvaluationContext(
            environment=attributes.pop("environment", self._environment),
            user_id=targeting_key or user_id,
            organization_id=attributes.pop("organization_id", None),
            ip=attributes.pop("ip", None),
            attributes=attributes,
        )

    def _resolve(
        self,
        flags: FlagSet | None,
        key: str,
        default: T,
        context: OpenFeatureContext | None,
        read: Callable[[JsonValue], T | _Mismatch],
        *,
        stale: bool = False,
    ) -> FlagResolutionDetails[T]:
        if flags is None:
            return _error(default, ErrorCode.PROVIDER_NOT_READY, _NOT_LOADED)
        try:
            answer = flags.evaluate(key, self.context_of(context))
        except (TypeError, ValueError) as exc:
            return _error(default, ErrorCode.INVALID_CONTEXT, str(exc))
        if answer.error_code is not None:
            return _failed(key, default, answer)
        return _served(key, default, answer, read, stale=stale)

    def _sync(
        self,
        key: str,
        default: T,
        context: OpenFeatureContext | None,
        read: Callable[[JsonValue], T | _Mismatch],
    ) -> FlagResolutionDetails[T]:
        flags, stale = self._now()
        return self._resolve(flags, key, default, context, read, stale=stale)

    async def _async(
        self,
        key: str,
        default: T,
        context: OpenFeatureContext | None,
        read: Callable[[JsonValue], T | _Mismatch],
    ) -> FlagResolutionDetails[T]:
        return self._resolve(await self._load(), key, default, context, read)

    def resolve_boolean_details(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: OpenFeatureContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        return self._sync(flag_key, default_value, evaluation_context, _boolean)

    async def resolve_boolean_details_async(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: OpenFeatureContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        return await self._async(flag_key, default_value, evaluation_context, _boolean)

    def resolve_string_details(
        self,
        flag_key: str,
        default_value: str,
        evaluation_context: OpenFeatureContext | None = None,
    ) -> FlagResolutionDetails[str]:
        return self._sync(flag_key, default_value, evaluation_context, _string)

    async def resolve_string_details_async(
        self,
        flag_key: str,
        default_value: str,
        evaluation_context: OpenFeatureContext | None = None,
    ) -> FlagResolutionDetails[str]:
        return await self._async(flag_key, default_value, evaluation_context, _string)

    def resolve_integer_details(
        self,
        flag_key: str,
        default_value: int,
        evaluation_context: OpenFeatureContext | None = None,
    ) -> FlagResolutionDetails[int]:
        return self._sync(flag_key, default_value, evaluation_context, _integer)

    async def resolve_integer_details_async(
        self,
        flag_key: str,
        default_value: int,
        evaluation_context: OpenFeatureContext | None = None,
    ) -> FlagResolutionDetails[int]:
        return await self._async(flag_key, default_value, evaluation_context, _integer)

    def resolve_float_details(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: OpenFeatureContext | None = None,
    ) -> FlagResolutionDetails[float]:
        return self._sync(flag_key, default_value, evaluation_context, _float)

    async def resolve_float_details_async(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: OpenFeatureContext | None = None,
    ) -> FlagResolutionDetails[float]:
        return await self._async(flag_key, default_value, evaluation_context, _float)

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: ObjectValue,
        evaluation_context: OpenFeatureContext | None = None,
    ) -> FlagResolutionDetails[ObjectValue]:
        return self._sync(flag_key, default_value, evaluation_context, _object)

    async def resolve_object_details_async(
        self,
        flag_key: str,
        default_value: ObjectValue,
        evaluation_context: OpenFeatureContext | None = None,
    ) -> FlagResolutionDetails[ObjectValue]:
        return await self._async(flag_key, default_value, evaluation_context, _object)


_NOT_LOADED = "the flags are not loaded yet: await provider.warm(), or use the async API"


def install(database: Database, *, environment: str, domain: str | None = None) -> KeelProvider:
    """Register a provider over ``database`` as OpenFeature's (for ``domain``, or the
    default); ready to answer when this returns."""
    provider = KeelProvider(database, environment=environment)
    api.set_provider_and_wait(provider, domain)
    return provider


def uninstall() -> None:
    """Back to OpenFeature's no-op provider (at shutdown: the database is closing)."""
    api.clear_providers()


def _error(default: T, code: ErrorCode, message: str) -> FlagResolutionDetails[T]:
    return FlagResolutionDetails(
        default, error_code=code, error_message=message, reason=Reason.ERROR
    )


def _failed(key: str, default: T, answer: Evaluation) -> FlagResolutionDetails[T]:
    if answer.cause == "FLAG_NOT_FOUND":
        return _error(default, ErrorCode.FLAG_NOT_FOUND, f"no flag has the key {key!r}")
    return _error(default, ErrorCode.GENERAL, f"flag {key!r}: {answer.cause}")


def _served(
    key: str,
    default: T,
    answer: Evaluation,
    read: Callable[[JsonValue], T | _Mismatch],
    *,
    stale: bool,
) -> FlagResolutionDetails[T]:
    """The value as the asked type; ``STALE`` for an answer from a copy a change dropped."""
    metadata = {"cause": answer.cause, "enabled": answer.enabled}
    reason = Reason.STALE if stale else Reason(answer.reason)
    if answer.value is None:  # a flag with variants, off: the caller's default
        return FlagResolutionDetails(default, reason=reason, flag_metadata=metadata)
    value = read(answer.value)
    if isinstance(value, _Mismatch):
        found = type(answer.value).__name__
        return _error(default, ErrorCode.TYPE_MISMATCH, f"flag {key!r} serves {found}")
    return FlagResolutionDetails(
        value, reason=reason, variant=answer.variant, flag_metadata=metadata
    )


def org_context(org: OrgAccess) -> OpenFeatureContext:
    """The OpenFeature context of a caller in an organization: the same user, organization,
    attributes, ``plan`` and ``role`` that ``GET /orgs/{id}/flags`` evaluates with."""
    fields = service.context_fields(org)
    attributes = {k: v for k, v in fields["attributes"].items() if _context_value(v)}
    attributes["organization_id"] = fields["organization_id"]
    if fields["ip"] is not None:
        attributes["ip"] = fields["ip"]
    return OpenFeatureContext(targeting_key=fields["user_id"], attributes=attributes)


def _context_value(value: object) -> bool:
    """What an OpenFeature attribute may hold (no ``None``)."""
    return isinstance(value, bool | int | float | str | datetime | Sequence | Mapping)


# ---- readers: the served value as the asked type -----------------------------------------------


def _boolean(value: JsonValue) -> bool | _Mismatch:
    return value if isinstance(value, bool) else MISMATCH


def _string(value: JsonValue) -> str | _Mismatch:
    return value if isinstance(value, str) else MISMATCH


def _integer(value: JsonValue) -> int | _Mismatch:
    return value if isinstance(value, int) and not isinstance(value, bool) else MISMATCH


def _float(value: JsonValue) -> float | _Mismatch:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return MISMATCH


def _object(value: JsonValue) -> ObjectValue | _Mismatch:
    """A JSON object or list, as the plain ``dict``/``list`` OpenFeature's type check wants."""
    if isinstance(value, Mapping | list | tuple):
        plain: ObjectValue = _plain(value)
        return plain
    return MISMATCH


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
