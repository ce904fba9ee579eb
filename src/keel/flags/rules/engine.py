"""A compiled set of flags and the evaluator over it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from keel.flags.rules.compiler import compile_flag
from keel.flags.rules.context import EvaluationContext
from keel.flags.rules.definition import Flag, FlagDefinitionError
from keel.flags.rules.evaluation import CompiledFlag, Evaluation, Trace
from keel.flags.rules.graph import dependency_order, find_prerequisite_cycle

_NO_MEMO: dict[str, Evaluation] = {}


@dataclass(frozen=True, slots=True)
class FlagSet:
    """Flags compiled together, so prerequisites are checked against each other once, at build
    time; rebuild the set when any flag changes. ``order`` puts every flag after the flags it
    requires, which is also the order `evaluate_all` answers in."""

    flags: Mapping[str, CompiledFlag]
    order: tuple[str, ...]

    @classmethod
    def compile(cls, flags: Iterable[Flag]) -> FlagSet:
        definitions = list(flags)
        compiled: dict[str, CompiledFlag] = {}
        for flag in definitions:
            if flag.key in compiled:
                raise FlagDefinitionError("key", "is used by two flags", flag_key=flag.key)
            compiled[flag.key] = compile_flag(flag)
        cycle = find_prerequisite_cycle(definitions)
        if cycle:
            raise FlagDefinitionError(
                "prerequisites",
                f"prerequisites form a cycle {' -> '.join(cycle)}; remove one of these links",
                flag_key=cycle[0],
            )
        _check_required_variants(compiled)
        return cls(compiled, dependency_order(definitions))

    def evaluate(
        self, key: str, context: EvaluationContext, *, explain: bool = False
    ) -> Evaluation:
        flag = self.flags.get(key)
        if flag is None:
            return _not_found(key, explain)
        memo = {} if flag.prerequisites else _NO_MEMO
        if not explain:
            return _evaluate(flag, context, self.flags, memo, None)
        trace: list[str] = []
        return _finish(_evaluate(flag, context, self.flags, memo, trace), trace)

    def evaluate_all(
        self, context: EvaluationContext, *, explain: bool = False
    ) -> dict[str, Evaluation]:
        """Every flag for one context; a prerequisite is evaluated once however many need it."""
        flags = self.flags
        answers: dict[str, Evaluation] = {}
        if not explain:
            for key in self.order:
                answers[key] = _evaluate(flags[key], context, flags, answers, None)
            return answers
        for key in self.order:
            trace: list[str] = []
            answers[key] = _finish(_evaluate(flags[key], context, flags, answers, trace), trace)
        return answers


def _evaluate(
    flag: CompiledFlag,
    context: EvaluationContext,
    flags: Mapping[str, CompiledFlag],
    memo: dict[str, Evaluation],
    trace: Trace,
) -> Evaluation:
    """The precedence, in order: switched off; environment; prerequisites; user lists;
    organization lists; attribute rules; rollout. The first step that decides wins."""
    if not flag.enabled:
        if trace is not None:
            trace.append("enabled: no -> off")
        return flag.off["FLAG_DISABLED"]
    if flag.environment is not None and flag.environment != context.environment:
        if trace is not None:
            trace.append(
                f"environment: the flag is for {flag.environment}, "
                f"the context is {context.environment} -> off"
            )
        return flag.off["ENVIRONMENT_MISMATCH"]
    if trace is not None:
        trace.append(f"enabled: yes; environment: {flag.environment or 'all'} matches")
    if flag.prerequisites:
        failed = _check_prerequisites(flag, context, flags, memo, trace)
        if failed is not None:
            return failed
    for step in flag.steps:
        answer = step(context, trace)
        if answer is not None:
            return answer
    return flag.rollout(context, trace)


def _check_prerequisites(
    flag: CompiledFlag,
    context: EvaluationContext,
    flags: Mapping[str, CompiledFlag],
    memo: dict[str, Evaluation],
    trace: Trace,
) -> Evaluation | None:
    for prerequisite in flag.prerequisites:
        key, wanted = prerequisite.flag, prerequisite.variant
        required = flags.get(key)
        if required is None:
            if trace is not None:
                trace.append(f"prerequisite {key!r}: no such flag -> off")
            return flag.off["PREREQUISITE_MISSING"]
        answer = memo.get(key)
        if answer is None:
            answer = memo[key] = _evaluate(required, context, flags, memo, None)
        held = answer.enabled and (wanted is None or answer.variant == wanted)
        if trace is not None:
            trace.append(_prerequisite_note(key, wanted, answer, held))
        if not held:
            return flag.off["PREREQUISITE_FAILED"]
    return None


def _prerequisite_note(key: str, wanted: str | None, answer: Evaluation, held: bool) -> str:
    state = f"{'on' if answer.enabled else 'off'} ({answer.cause}"
    state += f", variant {answer.variant!r})" if answer.variant is not None else ")"
    needed = f" (needs variant {wanted!r})" if wanted is not None else ""
    return f"prerequisite {key!r}{needed}: {state}{'' if held else ' -> off'}"


def _finish(answer: Evaluation, trace: list[str]) -> Evaluation:
    outcome = "on" if answer.enabled else "off"
    variant = f", variant {answer.variant!r}" if answer.variant is not None else ""
    trace.append(f"result: {outcome}{variant} ({answer.cause}, {answer.reason})")
    return replace(answer, trace=tuple(trace))


def _not_found(key: str, explain: bool) -> Evaluation:
    trace = (f"flag {key!r}: no such flag",) if explain else ()
    return Evaluation(key, False, None, None, "ERROR", "FLAG_NOT_FOUND", "FLAG_NOT_FOUND", trace)


def _check_required_variants(flags: Mapping[str, CompiledFlag]) -> None:
    for flag in flags.values():
        for n, prerequisite in enumerate(flag.prerequisites):
            required = flags.get(prerequisite.flag)
            if required is None or prerequisite.variant is None:
                continue
            known = [v.key for v in required.definition.variants]
            if prerequisite.variant not in known:
                fix = f"use one of {known}" if known else "it has none; drop the variant"
                raise FlagDefinitionError(
                    f"prerequisites[{n}].variant",
                    f"{prerequisite.flag!r} has no variant {prerequisite.variant!r}; {fix}",
                    flag_key=flag.key,
                )
