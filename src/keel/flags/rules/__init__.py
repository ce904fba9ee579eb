"""Feature flags, evaluated purely: a definition and a context in, an answer and its reason out.

Compile definitions once with ``FlagSet.compile(flags)`` (it refuses a bad definition with
``FlagDefinitionError(field, message)``); then ``evaluate(key, context)`` or
``evaluate_all(context)`` only look things up. Precedence, first match wins::

    step                  the context...                              answer   cause
    1 switched off        (anything)                                  off      FLAG_DISABLED
    2 environment         is not in the flag's environment            off      ENVIRONMENT_MISMATCH
                          (a flag in "all" runs everywhere)
    3 prerequisites       finds a required flag missing               off      PREREQUISITE_MISSING
                          finds one off, or on another variant        off      PREREQUISITE_FAILED
    4 user lists          has an excluded user                        off      USER_EXCLUDED
                          has an included user                        on       USER_INCLUDED
    5 organization lists  has an excluded organization                off      ORGANIZATION_EXCLUDED
                          has an included organization                on       ORGANIZATION_INCLUDED
    6 attribute rules     fails any rule (all must hold)              off      RULE_MISMATCH
    7 rollout             has no user or organization id (0<p<100)    off      NO_TARGETING_KEY
                          has a bucket below p x 100                  on       IN_ROLLOUT
                          has a bucket at or above it                 off      OUT_OF_ROLLOUT

So includes win over rules and rollout, excludes beat rules and rollout, and the user's own
entry beats its organization's: an excluded user of an included organization is off, an
included user of an excluded organization is on. One id on both lists of the same kind is
refused when the flag is compiled. Prerequisites come before the lists, so an include cannot
switch on a feature whose foundation is off. Buckets and variant choice are described in
`keel.flags.rules.bucketing`, operators in `keel.flags.rules.conditions`, the reasons
(OpenFeature's names) in `keel.flags.rules.evaluation`.
"""

from keel.flags.rules.bucketing import (
    BUCKETS,
    rollout_bucket,
    rollout_hash,
    variant_hash,
    variant_index,
)
from keel.flags.rules.compiler import compile_flag
from keel.flags.rules.conditions import OPERATORS, Condition
from keel.flags.rules.context import BUILT_IN_ATTRIBUTES, RUNTIME_ENVIRONMENTS, EvaluationContext
from keel.flags.rules.definition import (
    ENVIRONMENTS,
    EnvironmentName,
    Flag,
    FlagDefinitionError,
    JsonValue,
    Prerequisite,
    Rule,
    Targeting,
    Variant,
    parse_flag,
)
from keel.flags.rules.engine import FlagSet
from keel.flags.rules.evaluation import Cause, CompiledFlag, Evaluation, Reason
from keel.flags.rules.examples import EXAMPLE_FLAGS
from keel.flags.rules.graph import dependency_order, find_prerequisite_cycle

__all__ = [
    "BUCKETS",
    "BUILT_IN_ATTRIBUTES",
    "ENVIRONMENTS",
    "EXAMPLE_FLAGS",
    "OPERATORS",
    "RUNTIME_ENVIRONMENTS",
    "Cause",
    "CompiledFlag",
    "Condition",
    "EnvironmentName",
    "Evaluation",
    "EvaluationContext",
    "Flag",
    "FlagDefinitionError",
    "FlagSet",
    "JsonValue",
    "Prerequisite",
    "Reason",
    "Rule",
    "Targeting",
    "Variant",
    "compile_flag",
    "dependency_order",
    "find_prerequisite_cycle",
    "parse_flag",
    "rollout_bucket",
    "rollout_hash",
    "variant_hash",
    "variant_index",
]
