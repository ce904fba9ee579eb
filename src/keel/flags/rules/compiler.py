"""Turn a `Flag` into a `CompiledFlag`, refusing any definition that could not mean one thing.

Everything that can be decided before a request arrives is decided here: ids become frozensets,
rules become predicates, the rollout percentage becomes a bucket threshold, and every answer the
flag can give is built once, so evaluation only looks things up.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from operator import attrgetter

import mmh3

from keel.flags.rules.bucketing import BUCKETS
from keel.flags.rules.conditions import Condition, compile_rule
from keel.flags.rules.context import EvaluationContext
from keel.flags.rules.definition import (
    ENVIRONMENTS,
    Flag,
    FlagDefinitionError,
    Prerequisite,
    Targeting,
    Variant,
)
from keel.flags.rules.evaluation import (
    Cause,
    CompiledFlag,
    Decider,
    Evaluation,
    Reason,
    Step,
    Trace,
)

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_OFF_REASONS: dict[Cause, Reason] = {
    "FLAG_DISABLED": "DISABLED",
    "ENVIRONMENT_MISMATCH": "DISABLED",
    "PREREQUISITE_MISSING": "ERROR",
    "PREREQUISITE_FAILED": "DEFAULT",
    "USER_EXCLUDED": "TARGETING_MATCH",
    "ORGANIZATION_EXCLUDED": "TARGETING_MATCH",
    "RULE_MISMATCH": "DEFAULT",
    "NO_TARGETING_KEY": "DEFAULT",
    "OUT_OF_ROLLOUT": "SPLIT",
}
Pick = Callable[[Cause, EvaluationContext, Trace], Evaluation]


@dataclass(frozen=True, slots=True)
class _Serve:
    """How a flag answers "on" for a cause: ``fixed`` when it has at most one variant (nothing
    to choose, so no call at evaluation time), else ``pick`` chooses the variant."""

    fixed: Mapping[Cause, Evaluation | None]
    pick: Pick


def compile_flag(flag: Flag) -> CompiledFlag:
    try:
        return _compile(flag)
    except FlagDefinitionError as error:
        if error.flag_key is not None or not _valid_key(flag.key):
            raise
        raise FlagDefinitionError(error.field, error.message, flag_key=flag.key) from None


def _compile(flag: Flag) -> CompiledFlag:
    if not _valid_key(flag.key):
        raise FlagDefinitionError(
            "key", "use 1-100 letters, digits, '_', '-' or '.', starting with a letter or digit"
        )
    if not isinstance(flag.enabled, bool):
        raise FlagDefinitionError("enabled", "must be true or false")
    if flag.environment not in ENVIRONMENTS:
        raise FlagDefinitionError("environment", f"must be one of {', '.join(ENVIRONMENTS)}")
    threshold = _threshold(flag.rollout_percentage)
    conditions = tuple(
        compile_rule(rule, f"targeting.rules[{n}]") for n, rule in enumerate(flag.targeting.rules)
    )
    _check_prerequisites(flag.key, flag.prerequisites)
    off, serve = _answers(flag, _check_variants(flag.variants), threshold, bool(conditions))
    targeted = (*_list_steps(flag.targeting, off, serve), *_rule_steps(conditions, off))
    return CompiledFlag(
        definition=flag,
        key=flag.key,
        enabled=flag.enabled,
        environment=None if flag.environment == "all" else flag.environment,
        prerequisites=flag.prerequisites,
        steps=targeted,
        rollout=_rollout(flag.key, threshold, off, serve),
        off=off,
    )


# ---- validation --------------------------------------------------------------------------------


def _valid_key(key: object) -> bool:
    return isinstance(key, str) and _KEY.fullmatch(key) is not None


def _threshold(percentage: object) -> int:
    """Percent to buckets out of 10,000; more than two decimals would fall between buckets."""
    if (
        not isinstance(percentage, int | float)
        or isinstance(percentage, bool)
        or not math.isfinite(percentage)
        or not 0 <= percentage <= 100
    ):
        raise FlagDefinitionError("rollout_percentage", "must be a number from 0 to 100")
    buckets = round(percentage * 100)
    if abs(buckets - percentage * 100) > 1e-6:
        raise FlagDefinitionError("rollout_percentage", "use at most two decimals, e.g. 12.5")
    return buckets


def _ids(values: object, path: str) -> frozenset[str]:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise FlagDefinitionError(path, "must be a list of ids")
    for n, value in enumerate(values):
        if not isinstance(value, str) or not value:
            raise FlagDefinitionError(f"{path}[{n}]", "must be a non-empty id (text)")
    return frozenset(values)


def _included_and_excluded(targeting: Targeting, kind: str) -> tuple[frozenset[str], ...]:
    """One id on both lists of the same kind has no sensible meaning, so it is refused."""
    included = _ids(getattr(targeting, f"include_{kind}"), f"targeting.include_{kind}")
    excluded = _ids(getattr(targeting, f"exclude_{kind}"), f"targeting.exclude_{kind}")
    both = sorted(included & excluded)
    if both:
        raise FlagDefinitionError(
            f"targeting.exclude_{kind}",
            f"{both[0]!r} is also in include_{kind}; keep each id on one list",
        )
    return included, excluded


def _check_prerequisites(key: str, prerequisites: Sequence[Prerequisite]) -> None:
    seen: set[str] = set()
    for n, prerequisite in enumerate(prerequisites):
        path = f"prerequisites[{n}]"
        if not _valid_key(prerequisite.flag):
            raise FlagDefinitionError(f"{path}.flag", "must be the key of another flag")
        if prerequisite.flag == key:
            raise FlagDefinitionError(f"{path}.flag", "a flag cannot require itself")
        if prerequisite.flag in seen:
            raise FlagDefinitionError(f"{path}.flag", f"{prerequisite.flag!r} is listed twice")
        if prerequisite.variant is not None and not isinstance(prerequisite.variant, str):
            raise FlagDefinitionError(f"{path}.variant", "must be a variant key or null")
        seen.add(prerequisite.flag)


def _check_variants(variants: Sequence[Variant]) -> tuple[Variant, ...]:
    keys: set[str] = set()
    for n, variant in enumerate(variants):
        path = f"variants[{n}]"
        if not isinstance(variant.key, str) or not variant.key:
            raise FlagDefinitionError(f"{path}.key", "must be a non-empty name, e.g. 'control'")
        if variant.key in keys:
            raise FlagDefinitionError(f"{path}.key", f"{variant.key!r} is used twice")
        weight = variant.weight
        if not isinstance(weight, int) or isinstance(weight, bool) or weight <= 0:
            raise FlagDefinitionError(f"{path}.weight", "must be a whole number above 0")
        try:
            json.dumps(variant.value, allow_nan=False)
        except (TypeError, ValueError):
            raise FlagDefinitionError(
                f"{path}.value", "must be JSON: text, number, boolean, null, list or object"
            ) from None
        keys.add(variant.key)
    return tuple(variants)


# ---- answers, built once -----------------------------------------------------------------------


def _answers(
    flag: Flag, variants: tuple[Variant, ...], threshold: int, has_rules: bool
) -> tuple[dict[Cause, Evaluation], _Serve]:
    partial = 0 < threshold < BUCKETS
    off_value = None if variants else False
    off: dict[Cause, Evaluation] = {
        cause: Evaluation(flag.key, False, off_value, None, reason, cause)
        for cause, reason in _OFF_REASONS.items()
    }
    off["PREREQUISITE_MISSING"] = Evaluation(
        flag.key, False, off_value, None, "ERROR", "PREREQUISITE_MISSING", "GENERAL"
    )
    if not partial:
        off["OUT_OF_ROLLOUT"] = Evaluation(
            flag.key, False, off_value, None, "DEFAULT", "OUT_OF_ROLLOUT"
        )
    full: Reason = "TARGETING_MATCH" if has_rules else "STATIC"
    on_reasons: dict[Cause, Reason] = {
        "USER_INCLUDED": "TARGETING_MATCH",
        "ORGANIZATION_INCLUDED": "TARGETING_MATCH",
        "IN_ROLLOUT": "SPLIT" if partial else full,
    }
    on = {
        cause: tuple(Evaluation(flag.key, True, v.value, v.key, reason, cause) for v in variants)
        or (Evaluation(flag.key, True, True, None, reason, cause),)
        for cause, reason in on_reasons.items()
    }
    fixed = {cause: answers[0] if len(answers) == 1 else None for cause, answers in on.items()}
    return off, _Serve(fixed, _picker(flag.key, on, tuple(v.weight for v in variants)))


def _picker(key: str, on: dict[Cause, tuple[Evaluation, ...]], weights: tuple[int, ...]) -> Pick:
    """Pick the variant; a context with neither user nor organization gets the first one."""
    running = tuple(accumulate(weights))
    total = running[-1] if running else 1
    prefix = f"{key}:variant:"

    def pick(cause: Cause, context: EvaluationContext, trace: Trace) -> Evaluation:
        answers = on[cause]
        unit = context.user_id or context.organization_id
        if unit is None:
            index = 0
        else:
            index = bisect_right(running, mmh3.hash(prefix + unit, 0, signed=False) % total)
        if trace is not None:
            trace.append(_variant_note(answers[index], unit, total))
        return answers[index]

    return pick


def _variant_note(answer: Evaluation, unit: str | None, total: int) -> str:
    if unit is None:
        return f"variant: {answer.variant!r}, the first, as there is no user or organization id"
    picked = mmh3.hash(f"{answer.key}:variant:{unit}", 0, signed=False) % total
    return f"variant: {answer.variant!r} (weight point {picked} of {total} for {unit!r})"


# ---- steps, in precedence order ----------------------------------------------------------------


def _list_steps(targeting: Targeting, off: dict[Cause, Evaluation], serve: _Serve) -> list[Step]:
    """User lists before organization lists: the more specific decision wins, so an excluded
    user of an included organization is off and an included user of an excluded one is on."""
    kinds: tuple[tuple[str, str, Cause, Cause], ...] = (
        ("users", "user_id", "USER_INCLUDED", "USER_EXCLUDED"),
        ("organizations", "organization_id", "ORGANIZATION_INCLUDED", "ORGANIZATION_EXCLUDED"),
    )
    steps: list[Step] = []
    for kind, field, cause_in, cause_out in kinds:
        included, excluded = _included_and_excluded(targeting, kind)
        if included or excluded:
            steps.append(
                _list_step(
                    kind=kind,
                    field=field,
                    included=included,
                    excluded=excluded,
                    excluded_answer=off[cause_out],
                    serve=serve,
                    included_cause=cause_in,
                )
            )
    return steps


def _list_step(
    *,
    kind: str,
    field: str,
    included: frozenset[str],
    excluded: frozenset[str],
    excluded_answer: Evaluation,
    serve: _Serve,
    included_cause: Cause,
) -> Step:
    read: Callable[[EvaluationContext], str | None] = attrgetter(field)
    fixed, pick = serve.fixed[included_cause], serve.pick

    def step(context: EvaluationContext, trace: Trace) -> Evaluation | None:
        unit = read(context)
        if unit is None:
            if trace is not None:
                trace.append(f"{kind}: the context has no {field}")
            return None
        if unit in excluded:
            if trace is not None:
                trace.append(f"{kind}: {unit!r} is excluded -> off")
            return excluded_answer
        if unit in included:
            if trace is not None:
                trace.append(f"{kind}: {unit!r} is included -> on")
            return fixed or pick(included_cause, context, trace)
        if trace is not None:
            trace.append(f"{kind}: {unit!r} is neither included nor excluded")
        return None

    return step


def _rule_steps(conditions: tuple[Condition, ...], off: dict[Cause, Evaluation]) -> list[Step]:
    """All rules must hold. Without a trace only the predicates run, in a tuple of their own,
    because this loop is on every evaluation's path."""
    if not conditions:
        return []
    mismatch, tests = off["RULE_MISMATCH"], tuple(c.test for c in conditions)

    def step(context: EvaluationContext, trace: Trace) -> Evaluation | None:
        if trace is None:
            for test in tests:
                if not test(context):
                    return mismatch
            return None
        for condition in conditions:
            shown = f"{condition.attribute} = {condition.read(context)!r}"
            if not condition.test(context):
                trace.append(f"rule {condition}: fails on {shown} -> off")
                return mismatch
            trace.append(f"rule {condition}: holds on {shown}")
        return None

    return [step]


def _rollout(key: str, threshold: int, off: dict[Cause, Evaluation], serve: _Serve) -> Decider:
    fixed, pick = serve.fixed["IN_ROLLOUT"], serve.pick
    if threshold >= BUCKETS:

        def everyone(context: EvaluationContext, trace: Trace) -> Evaluation:
            if trace is not None:
                trace.append("rollout: 100% -> on")
            return fixed or pick("IN_ROLLOUT", context, trace)

        return everyone
    if threshold <= 0:
        nobody = off["OUT_OF_ROLLOUT"]

        def no_one(context: EvaluationContext, trace: Trace) -> Evaluation:
            if trace is not None:
                trace.append("rollout: 0% -> off")
            return nobody

        return no_one
    return _partial_rollout(key, threshold, off, serve)


def _partial_rollout(
    key: str, threshold: int, off: dict[Cause, Evaluation], serve: _Serve
) -> Decider:
    prefix, outside, anonymous = f"{key}:", off["OUT_OF_ROLLOUT"], off["NO_TARGETING_KEY"]
    fixed, pick = serve.fixed["IN_ROLLOUT"], serve.pick

    def some(context: EvaluationContext, trace: Trace) -> Evaluation:
        unit = context.user_id or context.organization_id
        if unit is None:
            if trace is not None:
                trace.append("rollout: no user or organization id to bucket -> off")
            return anonymous
        bucket = mmh3.hash(prefix + unit, 0, signed=False) % BUCKETS
        if bucket < threshold:
            if trace is not None:
                trace.append(f"rollout: bucket {bucket} of {unit!r} < {threshold} -> on")
            return fixed or pick("IN_ROLLOUT", context, trace)
        if trace is not None:
            trace.append(f"rollout: bucket {bucket} of {unit!r} >= {threshold} -> off")
        return outside

    return some
