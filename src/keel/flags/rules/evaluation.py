"""What an evaluation answers, and the compiled form of a flag that produces it.

``reason`` is OpenFeature's vocabulary, so an OpenFeature provider can pass it through;
``cause`` is Keel's finer one, saying which step decided::

    cause                   enabled  reason (OpenFeature)
    FLAG_NOT_FOUND          off      ERROR (error_code FLAG_NOT_FOUND)
    FLAG_DISABLED           off      DISABLED
    ENVIRONMENT_MISMATCH    off      DISABLED
    PREREQUISITE_MISSING    off      ERROR (error_code GENERAL)
    PREREQUISITE_FAILED     off      DEFAULT
    USER_EXCLUDED           off      TARGETING_MATCH
    USER_INCLUDED           on       TARGETING_MATCH
    ORGANIZATION_EXCLUDED   off      TARGETING_MATCH
    ORGANIZATION_INCLUDED   on       TARGETING_MATCH
    RULE_MISMATCH           off      DEFAULT
    NO_TARGETING_KEY        off      DEFAULT
    IN_ROLLOUT              on       SPLIT; at 100%: TARGETING_MATCH with rules, else STATIC
    OUT_OF_ROLLOUT          off      SPLIT; at 0%: DEFAULT

``value`` is the served variant's value, or ``True`` for a flag without variants; when the
flag is off it is ``False`` for a flag without variants and ``None`` (the caller's default)
for one with variants.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from keel.flags.rules.context import EvaluationContext
from keel.flags.rules.definition import Flag, JsonValue, Prerequisite

Reason = Literal["STATIC", "DEFAULT", "TARGETING_MATCH", "SPLIT", "DISABLED", "ERROR"]
Cause = Literal[
    "FLAG_NOT_FOUND",
    "FLAG_DISABLED",
    "ENVIRONMENT_MISMATCH",
    "PREREQUISITE_MISSING",
    "PREREQUISITE_FAILED",
    "USER_EXCLUDED",
    "USER_INCLUDED",
    "ORGANIZATION_EXCLUDED",
    "ORGANIZATION_INCLUDED",
    "RULE_MISMATCH",
    "NO_TARGETING_KEY",
    "IN_ROLLOUT",
    "OUT_OF_ROLLOUT",
]


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One flag's answer for one context. ``trace`` is filled only when an explanation is asked
    for: the evaluations of a compiled flag are built once and shared, so the fast path
    allocates nothing."""

    key: str
    enabled: bool
    value: JsonValue
    variant: str | None
    reason: Reason
    cause: Cause
    error_code: str | None = None
    trace: tuple[str, ...] = ()


Trace = list[str] | None
Step = Callable[[EvaluationContext, Trace], Evaluation | None]
Decider = Callable[[EvaluationContext, Trace], Evaluation]


@dataclass(frozen=True, slots=True, eq=False)
class CompiledFlag:
    """A flag made ready to evaluate: sets instead of lists, predicates instead of rules, and
    every possible answer built in advance. ``steps`` run in precedence order after the
    prerequisites; the first to answer wins, and ``rollout`` answers when none does."""

    definition: Flag
    key: str
    enabled: bool
    environment: str | None
    prerequisites: tuple[Prerequisite, ...]
    steps: tuple[Step, ...]
    rollout: Decider
    off: Mapping[Cause, Evaluation]
