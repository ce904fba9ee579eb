"""What an operator writes: the flag definition, its parts, and the one error a bad one raises.

Plain frozen data with no behaviour; `parse_flag` reads the JSON shape a service stores, and
`keel.flags.rules.compiler.compile_flag` validates the meaning. Both report problems as
`FlagDefinitionError(field, message)`, with ``field`` a path into the definition such as
``targeting.rules[0].value``, so the service layer can map it to a 422 problem unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeAlias, cast

EnvironmentName = Literal["development", "staging", "production", "all"]
ENVIRONMENTS: tuple[str, ...] = ("development", "staging", "production", "all")

JsonValue: TypeAlias = (
    str | int | float | bool | Sequence["JsonValue"] | Mapping[str, "JsonValue"] | None
)


class FlagDefinitionError(ValueError):
    """A flag definition that cannot be compiled; ``field`` locates it, ``message`` says the fix.

    ``flag_key`` names the flag when the error comes from a whole flag set (a prerequisite
    cycle, a duplicate key), where the path alone would not say which definition is at fault.
    """

    def __init__(self, field: str, message: str, *, flag_key: str | None = None) -> None:
        where = f"{flag_key}: {field}" if flag_key else field
        super().__init__(f"{where}: {message}")
        self.field = field
        self.message = message
        self.flag_key = flag_key


@dataclass(frozen=True, slots=True)
class Rule:
    """``attribute operator value``, e.g. ``plan in ["professional", "enterprise"]``."""

    attribute: str
    operator: str
    value: object


@dataclass(frozen=True, slots=True)
class Targeting:
    include_users: tuple[str, ...] = ()
    exclude_users: tuple[str, ...] = ()
    include_organizations: tuple[str, ...] = ()
    exclude_organizations: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True, slots=True)
class Prerequisite:
    """Another flag that must be on for this one to be; with ``variant``, serving that variant."""

    flag: str
    variant: str | None = None


@dataclass(frozen=True, slots=True)
class Variant:
    key: str
    value: JsonValue
    weight: int = 1


@dataclass(frozen=True, slots=True)
class Flag:
    """A definition as stored. New flags start switched off; ``rollout_percentage`` applies to
    whoever passes targeting, so the default 100 means "everyone targeted" once enabled."""

    key: str
    name: str = ""
    description: str = ""
    enabled: bool = False
    rollout_percentage: float = 100.0
    environment: str = "all"
    targeting: Targeting = field(default_factory=Targeting)
    prerequisites: tuple[Prerequisite, ...] = ()
    variants: tuple[Variant, ...] = ()


# ---- parsing the stored JSON shape -------------------------------------------------------------


def parse_flag(data: Mapping[str, object]) -> Flag:
    """Build a `Flag` from its JSON shape (the field names of the dataclasses, lists for tuples).

    Only the shape is checked here; `compile_flag` judges operators, ranges and values."""
    _refuse_unknown(data, Flag.__dataclass_fields__, "")
    targeting = data.get("targeting", {})
    return Flag(
        key=_text(data, "key", "", required=True),
        name=_text(data, "name", ""),
        description=_text(data, "description", ""),
        enabled=_boolean(data, "enabled", "", default=False),
        rollout_percentage=_number(data, "rollout_percentage", "", default=100.0),
        environment=_text(data, "environment", "", default="all"),
        targeting=_targeting(_mapping(targeting, "targeting")),
        prerequisites=tuple(
            _prerequisite(_mapping(item, f"prerequisites[{n}]"), f"prerequisites[{n}]")
            for n, item in enumerate(_items(data, "prerequisites", ""))
        ),
        variants=tuple(
            _variant(_mapping(item, f"variants[{n}]"), f"variants[{n}]")
            for n, item in enumerate(_items(data, "variants", ""))
        ),
    )


def _targeting(data: Mapping[str, object]) -> Targeting:
    _refuse_unknown(data, Targeting.__dataclass_fields__, "targeting.")
    lists = {
        name: tuple(
            _id(item, f"targeting.{name}[{n}]")
            for n, item in enumerate(_items(data, name, "targeting."))
        )
        for name in (
            "include_users",
            "exclude_users",
            "include_organizations",
            "exclude_organizations",
        )
    }
    rules = tuple(
        _rule(_mapping(item, f"targeting.rules[{n}]"), f"targeting.rules[{n}]")
        for n, item in enumerate(_items(data, "rules", "targeting."))
    )
    return Targeting(rules=rules, **lists)


def _rule(data: Mapping[str, object], path: str) -> Rule:
    _refuse_unknown(data, Rule.__dataclass_fields__, f"{path}.")
    if "value" not in data:
        raise FlagDefinitionError(f"{path}.value", "is required")
    value = data["value"]
    return Rule(
        attribute=_text(data, "attribute", f"{path}.", required=True),
        operator=_text(data, "operator", f"{path}.", required=True),
        value=tuple(value) if isinstance(value, list) else value,
    )


def _prerequisite(data: Mapping[str, object], path: str) -> Prerequisite:
    _refuse_unknown(data, Prerequisite.__dataclass_fields__, f"{path}.")
    variant = data.get("variant")
    if variant is not None and not isinstance(variant, str):
        raise FlagDefinitionError(f"{path}.variant", "must be a variant key (text) or null")
    return Prerequisite(flag=_text(data, "flag", f"{path}.", required=True), variant=variant)


def _variant(data: Mapping[str, object], path: str) -> Variant:
    _refuse_unknown(data, Variant.__dataclass_fields__, f"{path}.")
    weight = data.get("weight", 1)
    if not isinstance(weight, int) or isinstance(weight, bool):
        raise FlagDefinitionError(f"{path}.weight", "must be a whole number, e.g. 50")
    value = data.get("value")
    return Variant(
        key=_text(data, "key", f"{path}.", required=True),
        value=cast(JsonValue, value),  # compile_flag checks that it is JSON
        weight=weight,
    )


def _refuse_unknown(data: Mapping[str, object], known: Mapping[str, object], prefix: str) -> None:
    """A misspelt field would otherwise be dropped silently and the flag would target wrongly."""
    for name in data:
        if name not in known:
            expected = ", ".join(sorted(known))
            raise FlagDefinitionError(
                f"{prefix}{name}", f"unknown field; expected one of {expected}"
            )


def _mapping(value: object, path: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise FlagDefinitionError(path, "must be an object")
    return value


def _items(data: Mapping[str, object], name: str, prefix: str) -> Sequence[object]:
    value = data.get(name, ())
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise FlagDefinitionError(f"{prefix}{name}", "must be a list")
    return value


def _id(value: object, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise FlagDefinitionError(path, "must be a non-empty id (text)")
    return value


def _text(
    data: Mapping[str, object],
    name: str,
    prefix: str,
    *,
    default: str = "",
    required: bool = False,
) -> str:
    if name not in data:
        if required:
            raise FlagDefinitionError(f"{prefix}{name}", "is required")
        return default
    value = data[name]
    if not isinstance(value, str):
        raise FlagDefinitionError(f"{prefix}{name}", "must be text")
    return value


def _boolean(data: Mapping[str, object], name: str, prefix: str, *, default: bool) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise FlagDefinitionError(f"{prefix}{name}", "must be true or false")
    return value


def _number(data: Mapping[str, object], name: str, prefix: str, *, default: float) -> float:
    value = data.get(name, default)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise FlagDefinitionError(f"{prefix}{name}", "must be a number, e.g. 25 or 12.5")
    return float(value)
