"""The flags domain's API shapes, and the one JSON form a definition is stored in.

The bodies mirror the JSON that ``keel.flags.rules.parse_flag`` reads (docs/flags.md, "A
flag"): pydantic checks the shape and types strictly (``"true"`` is not a boolean, an unknown
field is refused), then the service hands the same dict to ``parse_flag`` and the compiler,
which judge the meaning (operators, versions, networks, cycles). So there is one definition
format, and a bad one is a 422 naming the field either way.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, field_validator

from keel.flags.models import FeatureFlag, FeatureFlagVersion
from keel.flags.rules import Flag
from keel.kit.schemas import Input, nul_at


def _storable(value: Any) -> Any:
    """What a JSON body may carry but a stored document may not: Python reads ``NaN`` and
    ``Infinity`` in a body, and ``\\u0000`` is valid JSON text, yet PostgreSQL refuses both,
    which would fail at the database (a 500) instead of here (a 422)."""
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        raise ValueError("NaN and Infinity are not JSON numbers; use a finite number") from None
    if nul_at(value, "") is not None:
        raise ValueError("text may not contain the NUL character (\\u0000)")
    return value


Storable = AfterValidator(_storable)

#: The key rule of ``keel.flags.rules``: renaming reshuffles a rollout, so keys never change.
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
FlagKey = Annotated[str, Field(pattern=KEY_PATTERN, min_length=1, max_length=100)]
Environment = Literal["development", "staging", "production", "all"]
Id = Annotated[str, Field(min_length=1, max_length=200), Storable]
Ids = Annotated[list[Id], Field(max_length=10_000)]
Percentage = Annotated[float, Field(strict=True, ge=0, le=100, allow_inf_nan=False)]
Name = Annotated[str, Field(max_length=200), Storable]
Description = Annotated[str, Field(max_length=2000), Storable]
ShortText = Annotated[str, Field(min_length=1, max_length=100), Storable]
JsonAny = Annotated[Any, Storable]


class RuleSpec(Input):
    """``attribute operator value``, e.g. ``plan in ["professional", "enterprise"]``."""

    attribute: ShortText
    operator: Annotated[str, Field(max_length=32, description="in, not_in, equals, lt, ...")]
    value: JsonAny = Field(description="A list, a text, a number or a boolean, per the operator.")


class TargetingSpec(Input):
    include_users: Ids = Field(default_factory=list)
    exclude_users: Ids = Field(default_factory=list)
    include_organizations: Ids = Field(default_factory=list)
    exclude_organizations: Ids = Field(default_factory=list)
    rules: Annotated[list[RuleSpec], Field(max_length=50)] = Field(default_factory=list)


class PrerequisiteSpec(Input):
    flag: FlagKey
    variant: ShortText | None = None


class VariantSpec(Input):
    key: ShortText
    value: JsonAny = Field(description="Any JSON value the flag serves in this variant.")
    weight: Annotated[int, Field(strict=True, ge=1, le=1_000_000)] = 1


Prerequisites = Annotated[list[PrerequisiteSpec], Field(max_length=20)]
Variants = Annotated[list[VariantSpec], Field(max_length=50)]


class FlagCreate(Input):
    """A new flag; it starts switched off unless ``enabled`` says otherwise."""

    key: FlagKey
    name: Name = ""
    description: Description = ""
    enabled: Annotated[bool, Field(strict=True)] = False
    rollout_percentage: Percentage = 100.0
    environment: Environment = "all"
    targeting: TargetingSpec = Field(default_factory=TargetingSpec)
    prerequisites: Prerequisites = Field(default_factory=list)
    variants: Variants = Field(default_factory=list)


class FlagUpdate(Input):
    """The fields to change; the others keep their value. Lists and ``targeting`` are
    replaced whole. The key cannot change: it seeds the rollout hash, so a new key would
    reshuffle who has the feature (create a new flag instead)."""

    name: Name | None = None
    description: Description | None = None
    enabled: Annotated[bool, Field(strict=True)] | None = None
    rollout_percentage: Percentage | None = None
    environment: Environment | None = None
    targeting: TargetingSpec | None = None
    prerequisites: Prerequisites | None = None
    variants: Variants | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _no_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("null is not a value here; leave the field out to keep it")
        return value


class FlagToggle(Input):
    enabled: Annotated[bool, Field(strict=True)]


class FlagRollback(Input):
    version: Annotated[int, Field(strict=True, ge=1, description="A version from the history.")]


class FlagRead(BaseModel):
    id: uuid.UUID
    key: str
    name: str
    description: str
    enabled: bool
    rollout_percentage: float
    environment: Environment
    targeting: TargetingSpec
    prerequisites: list[PrerequisiteSpec]
    variants: list[VariantSpec]
    #: The number of the last change (see the history).
    version: int
    created_by: uuid.UUID | None
    updated_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, flag: FeatureFlag) -> FlagRead:
        return cls.model_validate(
            {
                **flag.definition,
                "id": flag.id,
                "version": flag.version,
                "created_by": flag.created_by,
                "updated_by": flag.updated_by,
                "created_at": flag.created_at,
                "updated_at": flag.updated_at,
            }
        )


class FlagVersionRead(BaseModel):
    key: str
    version: int
    action: Literal["created", "updated", "enabled", "disabled", "rolled_back", "deleted"]
    #: The whole definition after the change (before it, for ``deleted``).
    definition: dict[str, Any]
    #: ``{"<field>": {"before": old, "after": new}}``; nested fields as ``targeting.rules``.
    diff: dict[str, Any]
    changed_by: uuid.UUID | None
    changed_at: datetime

    @classmethod
    def of(cls, row: FeatureFlagVersion) -> FlagVersionRead:
        return cls.model_validate(row, from_attributes=True)


class FlagValue(BaseModel):
    """One flag's answer for the caller. ``value`` is the variant's value, or a boolean for a
    flag without variants; ``null`` means "use your default" (a flag with variants that is
    off). ``reason`` uses OpenFeature's names."""

    enabled: bool
    value: Any
    variant: str | None
    reason: Literal["STATIC", "DEFAULT", "TARGETING_MATCH", "SPLIT", "DISABLED", "ERROR"]


class FlagValues(BaseModel):
    #: The flag environment this server evaluates in (docs/flags.md, "Environments").
    environment: str
    flags: dict[str, FlagValue]


# ---- the stored form ----------------------------------------------------------------------------


def flag_document(flag: Flag) -> dict[str, Any]:
    """``flag`` as the JSON ``parse_flag`` reads back, every field present: stored rows and
    history snapshots all have one shape, so two of them compare field by field."""
    targeting = flag.targeting
    return {
        "key": flag.key,
        "name": flag.name,
        "description": flag.description,
        "enabled": flag.enabled,
        "rollout_percentage": float(flag.rollout_percentage),
        "environment": flag.environment,
        "targeting": {
            "include_users": list(targeting.include_users),
            "exclude_users": list(targeting.exclude_users),
            "include_organizations": list(targeting.include_organizations),
            "exclude_organizations": list(targeting.exclude_organizations),
            "rules": [
                {"attribute": r.attribute, "operator": r.operator, "value": _json(r.value)}
                for r in targeting.rules
            ],
        },
        "prerequisites": [{"flag": p.flag, "variant": p.variant} for p in flag.prerequisites],
        "variants": [
            {"key": v.key, "value": _json(v.value), "weight": v.weight} for v in flag.variants
        ],
    }


def _json(value: object) -> Any:
    """Tuples (how the engine keeps lists) back to JSON lists, however deep."""
    if isinstance(value, tuple | list):
        return [_json(item) for item in value]
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    return value
