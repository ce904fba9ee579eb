"""The evaluation context: who is asking, where, and what is known about them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from types import MappingProxyType

RUNTIME_ENVIRONMENTS: frozenset[str] = frozenset({"development", "staging", "production"})

# Rule attributes with these names read the context's own fields, never `attributes`: a caller
# cannot spoof the organization or client address by sending an attribute of the same name.
BUILT_IN_ATTRIBUTES: frozenset[str] = frozenset({"user_id", "organization_id", "environment", "ip"})


class _Missing:
    """What a reader returns for an absent (or null) attribute: equal to nothing, so no
    condition holds on it, not even a negative one such as ``not_in``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()

_NO_ATTRIBUTES: Mapping[str, object] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationContext:
    """Built once per request and shared by every flag it evaluates.

    ``user_id`` keys the rollout; without it ``organization_id`` does, so an organization-level
    caller (an API key, a job) still lands in a stable bucket."""

    environment: str
    user_id: str | None = None
    organization_id: str | None = None
    attributes: Mapping[str, object] = field(default_factory=lambda: _NO_ATTRIBUTES)
    ip: str | None = None

    def __post_init__(self) -> None:
        for name in ("user_id", "organization_id", "ip"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                # A UUID would never equal the text ids of the lists and could not be hashed.
                raise TypeError(f"{name} must be text or None; pass str({name})")
        if self.environment not in RUNTIME_ENVIRONMENTS:
            choices = ", ".join(sorted(RUNTIME_ENVIRONMENTS))
            raise ValueError(
                f"unknown evaluation environment {self.environment!r}; use one of {choices}"
            )


Reader = Callable[[EvaluationContext], object]


def reader(attribute: str) -> Reader:
    if attribute in BUILT_IN_ATTRIBUTES:
        built_in: Callable[[EvaluationContext], object] = attrgetter(attribute)

        def read_field(context: EvaluationContext) -> object:
            value = built_in(context)
            return MISSING if value is None else value

        return read_field

    def read_attribute(context: EvaluationContext) -> object:
        value = context.attributes.get(attribute, MISSING)
        return MISSING if value is None else value

    return read_attribute
