"""Attribute-based policies, evaluated after RBAC; deny overrides allow."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from keel.access.rules.catalog import ACTION_OF, Effect, Target
from keel.access.rules.rbac import RbacResult, Resource, Subject, rbac_decide


@dataclass(frozen=True, slots=True)
class Environment:
    ip: str | None
    now: datetime

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("Environment.now must be timezone-aware; use datetime.now(UTC)")


# ---- ABAC conditions: each precompiles what it can at construction ---------------------------

_MISSING = object()


@dataclass(frozen=True, slots=True)
class AttributeEquals:
    target: Target
    key: str
    value: object

    def holds(self, subject: Subject, resource: Resource, env: Environment) -> bool:
        source = subject.attributes if self.target == "user" else resource.attributes
        return bool(source.get(self.key, _MISSING) == self.value)

    def __str__(self) -> str:
        return f"{self.target}.{self.key} == {self.value!r}"


@dataclass(frozen=True, slots=True)
class AttributeIn:
    target: Target
    key: str
    values: tuple[object, ...]
    _set: frozenset[object] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_set", frozenset(self.values))

    def holds(self, subject: Subject, resource: Resource, env: Environment) -> bool:
        source = subject.attributes if self.target == "user" else resource.attributes
        try:
            return source.get(self.key, _MISSING) in self._set
        except TypeError:  # an unhashable attribute value is in no list
            return False

    def __str__(self) -> str:
        return f"{self.target}.{self.key} in {list(self.values)!r}"


@lru_cache(maxsize=4096)
def _parse_ip(ip: str) -> tuple[int, int] | None:
    """(version, integer) of an address, IPv4-mapped IPv6 folded to IPv4; cached per client."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.version, int(address)


@dataclass(frozen=True, slots=True)
class IpInNetworks:
    cidrs: tuple[str, ...]
    _nets: tuple[tuple[int, int, int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        nets = [ipaddress.ip_network(cidr, strict=False) for cidr in self.cidrs]
        compiled = tuple((n.version, int(n.network_address), int(n.netmask)) for n in nets)
        object.__setattr__(self, "_nets", compiled)

    def holds(self, subject: Subject, resource: Resource, env: Environment) -> bool:
        parsed = _parse_ip(env.ip) if env.ip is not None else None
        if parsed is None:
            return False
        version, value = parsed
        return any(v == version and value & mask == net for v, net, mask in self._nets)

    def __str__(self) -> str:
        return f"ip in {list(self.cidrs)}"


EVERY_DAY: frozenset[int] = frozenset(range(7))
MONDAY_TO_FRIDAY: frozenset[int] = frozenset(range(5))
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Local time in ``start``..``end`` (end excluded) in ``zone``, on ``weekdays`` (0 = Monday).

    A window whose end is not after its start crosses midnight; its early-morning part belongs
    to the day it opened, so Fri 22:00-06:00 holds on Saturday at 03:00, not on Monday."""

    start: time
    end: time
    zone: str
    weekdays: frozenset[int] = EVERY_DAY
    _tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("a time window needs start != end; omit the condition for all day")
        try:
            object.__setattr__(self, "_tz", ZoneInfo(self.zone))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.zone!r}; use an IANA name") from exc

    def holds(self, subject: Subject, resource: Resource, env: Environment) -> bool:
        local = env.now.astimezone(self._tz)
        now, day = local.time().replace(tzinfo=None), local.weekday()
        if self.start < self.end:
            return self.start <= now < self.end and day in self.weekdays
        if now >= self.start:
            return day in self.weekdays
        return now < self.end and (day - 1) % 7 in self.weekdays

    def __str__(self) -> str:
        days = ",".join(_DAY_NAMES[d] for d in sorted(self.weekdays))
        return f"time {self.start:%H:%M}-{self.end:%H:%M} {self.zone} on {days}"


Condition = AttributeEquals | AttributeIn | IpInNetworks | TimeWindow


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    name: str
    resource_type: str
    action: str
    effect: Effect
    conditions: tuple[Condition, ...] = ()

    def first_failing(
        self, subject: Subject, resource: Resource, env: Environment
    ) -> Condition | None:
        for condition in self.conditions:
            if not condition.holds(subject, resource, env):
                return condition
        return None

    def __str__(self) -> str:
        return f"{self.effect} policy {self.id!r} ({self.name})"


@dataclass(frozen=True, slots=True)
class PolicySet:
    """Policies indexed by (resource type, action) into (deny, allow): built once per change."""

    index: Mapping[tuple[str, str], tuple[tuple[Policy, ...], tuple[Policy, ...]]]

    @classmethod
    def compile(cls, policies: Iterable[Policy]) -> PolicySet:
        index: dict[tuple[str, str], tuple[tuple[Policy, ...], tuple[Policy, ...]]] = {}
        for policy in policies:
            deny, allow = index.get((policy.resource_type, policy.action), ((), ()))
            if policy.effect == "deny":
                deny += (policy,)
            else:
                allow += (policy,)
            index[(policy.resource_type, policy.action)] = (deny, allow)
        return cls(index)


EMPTY_POLICIES = PolicySet({})

Outcome = Literal["rbac", "rbac-denied", "policy-denied", "policy-allowed", "no-allow-held"]


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer and what decided it; ``trace`` renders the steps only when someone asks."""

    allowed: bool
    outcome: Outcome
    rbac: RbacResult
    policy: Policy | None = None
    condition: Condition | None = None

    @property
    def trace(self) -> list[str]:
        steps = [f"RBAC {'allows' if self.rbac.allowed else 'denies'}: {self.rbac.reason}"]
        steps.append(self._policy_step())
        steps.append("allowed" if self.allowed else "denied")
        return steps

    def _policy_step(self) -> str:
        match self.outcome:
            case "rbac-denied":
                return "ABAC not evaluated: RBAC denied"
            case "rbac":
                return "ABAC: no policy narrows this action; RBAC's answer stands"
            case "policy-denied":
                conditions = "; ".join(map(str, self.policy.conditions)) if self.policy else ""
                return (
                    f"ABAC: {self.policy} holds ({conditions or 'no conditions'}): deny overrides"
                )
            case "policy-allowed":
                return f"ABAC: {self.policy} holds"
            case _:
                return f"ABAC: no allow policy holds; {self.policy} fails on {self.condition}"


def decide(
    subject: Subject,
    permission: str,
    resource: Resource,
    environment: Environment,
    policies: PolicySet = EMPTY_POLICIES,
) -> Decision:
    rbac = rbac_decide(subject, permission, resource)
    if not rbac.allowed:
        return Decision(False, "rbac-denied", rbac)
    entry = policies.index.get((resource.type, ACTION_OF.get(permission, "")))
    if entry is None:
        return Decision(True, "rbac", rbac)
    deny, allow = entry
    for policy in deny:
        if policy.first_failing(subject, resource, environment) is None:
            return Decision(False, "policy-denied", rbac, policy)
    if not allow:
        return Decision(True, "rbac", rbac)
    return _require_allow(allow, subject, resource, environment, rbac)


def _require_allow(
    allow: tuple[Policy, ...],
    subject: Subject,
    resource: Resource,
    environment: Environment,
    rbac: RbacResult,
) -> Decision:
    """The first allow policy that holds wins; otherwise report the first one's failing test."""
    first_failure: Condition | None = None
    for policy in allow:
        failing = policy.first_failing(subject, resource, environment)
        if failing is None:
            return Decision(True, "policy-allowed", rbac, policy)
        first_failure = first_failure or failing
    return Decision(False, "no-allow-held", rbac, allow[0], first_failure)
