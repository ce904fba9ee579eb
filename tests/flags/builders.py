"""Small builders for the flag engine's tests: a context, a flag switched on, its targeting."""

from __future__ import annotations

import pytest

from keel.flags.rules import (
    Evaluation,
    EvaluationContext,
    Flag,
    FlagDefinitionError,
    FlagSet,
    Rule,
    Targeting,
)

USER, OTHER_USER = "u-1", "u-2"
ORG, OTHER_ORG = "org-1", "org-2"
ABSENT = object()  # an attribute left out of the context


def context(
    environment: str = "production",
    *,
    user: str | None = USER,
    org: str | None = ORG,
    ip: str | None = None,
    **attributes: object,
) -> EvaluationContext:
    return EvaluationContext(
        environment=environment, user_id=user, organization_id=org, attributes=attributes, ip=ip
    )


def flag(key: str = "f", **fields: object) -> Flag:
    return Flag(key=key, **{"enabled": True, **fields})  # type: ignore[arg-type]  # test overrides, typed loosely on purpose


def targeting(**fields: object) -> Targeting:
    return Targeting(**fields)  # type: ignore[arg-type]  # test overrides, typed loosely on purpose


def plan_in(*plans: str) -> Rule:
    return Rule("plan", "in", plans)


def evaluate(subject: Flag, ctx: EvaluationContext, *others: Flag) -> Evaluation:
    return FlagSet.compile([subject, *others]).evaluate(subject.key, ctx)


def definition_error(*flags: Flag) -> FlagDefinitionError:
    with pytest.raises(FlagDefinitionError) as caught:
        FlagSet.compile(flags)
    return caught.value
