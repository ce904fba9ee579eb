"""Attribute rules compiled into small predicates over the context.

Operators and the values they take (an attribute that is missing, null, or of the wrong kind
satisfies no condition, negative ones included, so a rule never matches on absent data)::

    in, not_in              a non-empty list of text / numbers / booleans
    equals, not_equals      one text / number / boolean
    lt, lte, gt, gte        a number; the attribute must be a number too (text never matches)
    semver_eq, semver_lt, semver_lte, semver_gt, semver_gte
                            a SemVer 2.0.0 version, e.g. "2.4.0-rc.1"; build metadata ignored
    in_cidr                 a non-empty list of networks, e.g. ["10.0.0.0/8", "2001:db8::/32"]

Versions use the ``semver`` package rather than ``packaging.version``: ``packaging`` implements
PEP 440 (Python's own version scheme), which rejects valid SemVer pre-releases such as
``1.0.0-x.7.z.92`` and orders pre-releases by PEP 440 rather than SemVer §11. The versions a
flag compares are client app versions, which are SemVer.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import semver

from keel.flags.rules.context import EvaluationContext, Reader, reader
from keel.flags.rules.definition import FlagDefinitionError, Rule

Test = Callable[[EvaluationContext], bool]

_SCALARS = frozenset({str, int, float, bool})
_NUMBERS = frozenset({int, float})
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}
_SEMVER_SIGN: dict[str, frozenset[int]] = {
    "semver_eq": frozenset({0}),
    "semver_lt": frozenset({-1}),
    "semver_lte": frozenset({-1, 0}),
    "semver_gt": frozenset({1}),
    "semver_gte": frozenset({0, 1}),
}
OPERATORS: tuple[str, ...] = (
    "in",
    "not_in",
    "equals",
    "not_equals",
    *_COMPARE,
    *_SEMVER_SIGN,
    "in_cidr",
)


@dataclass(frozen=True, slots=True)
class Condition:
    """A compiled rule: ``test`` decides, the rest is kept to explain the decision."""

    attribute: str
    operator: str
    expected: object
    test: Test
    read: Reader

    def __str__(self) -> str:
        expected = list(self.expected) if isinstance(self.expected, tuple) else self.expected
        return f"{self.attribute} {self.operator} {expected!r}"


def compile_rule(rule: Rule, path: str) -> Condition:
    if not isinstance(rule.attribute, str) or not rule.attribute:
        raise FlagDefinitionError(f"{path}.attribute", "must name an attribute, e.g. plan")
    build = _BUILDERS.get(rule.operator)
    if build is None:
        raise FlagDefinitionError(
            f"{path}.operator",
            f"unknown operator {rule.operator!r}; use one of {', '.join(OPERATORS)}",
        )
    read = reader(rule.attribute)
    expected, test = build(rule.operator, rule.value, read, f"{path}.value")
    return Condition(rule.attribute, rule.operator, expected, test, read)


# ---- builders: validate the rule's value, return (value as kept, predicate) --------------------


def _membership(op: str, value: object, read: Reader, path: str) -> tuple[object, Test]:
    values = _scalar_list(value, path)
    allowed = frozenset(values)
    negate = op == "not_in"

    def test(context: EvaluationContext) -> bool:
        actual = read(context)
        return type(actual) in _SCALARS and (actual in allowed) is not negate

    return values, test


def _equality(op: str, value: object, read: Reader, path: str) -> tuple[object, Test]:
    if type(value) not in _SCALARS:
        raise FlagDefinitionError(path, "must be one text, number or boolean value")
    negate = op == "not_equals"

    def test(context: EvaluationContext) -> bool:
        actual = read(context)
        return type(actual) in _SCALARS and (actual == value) is not negate

    return value, test


def _numeric(op: str, value: object, read: Reader, path: str) -> tuple[object, Test]:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise FlagDefinitionError(path, f"{op} compares numbers; give a number, e.g. 10")
    compare = _COMPARE[op]

    def test(context: EvaluationContext) -> bool:
        actual = read(context)
        return type(actual) in _NUMBERS and compare(actual, value)

    return value, test


def _semver(op: str, value: object, read: Reader, path: str) -> tuple[object, Test]:
    bound = _parse_version(value)
    if bound is None:
        raise FlagDefinitionError(path, f"{value!r} is not a SemVer version; write e.g. '2.4.0'")
    signs = _SEMVER_SIGN[op]

    @lru_cache(maxsize=512)  # client versions are few; each is parsed once per condition
    def judge(actual: str) -> bool:
        version = _parse_version(actual)
        return version is not None and version.compare(bound) in signs

    def test(context: EvaluationContext) -> bool:
        actual = read(context)
        return type(actual) is str and judge(actual)

    return value, test


def _cidr(op: str, value: object, read: Reader, path: str) -> tuple[object, Test]:
    cidrs = _text_list(value, path)
    networks = tuple(_network(cidr, f"{path}[{n}]") for n, cidr in enumerate(cidrs))

    def test(context: EvaluationContext) -> bool:
        actual = read(context)
        address = _parse_ip(actual) if type(actual) is str else None
        if address is None:
            return False
        version, number = address
        return any(v == version and number & mask == net for v, net, mask in networks)

    return cidrs, test


_Builder = Callable[[str, object, Reader, str], tuple[object, Test]]
_BUILDERS: dict[str, _Builder] = {
    "in": _membership,
    "not_in": _membership,
    "equals": _equality,
    "not_equals": _equality,
    **dict.fromkeys(_COMPARE, _numeric),
    **dict.fromkeys(_SEMVER_SIGN, _semver),
    "in_cidr": _cidr,
}


# ---- value helpers -----------------------------------------------------------------------------


def _scalar_list(value: object, path: str) -> tuple[object, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise FlagDefinitionError(path, "must be a non-empty list, e.g. ['pro', 'enterprise']")
    for n, item in enumerate(value):
        if type(item) not in _SCALARS:
            raise FlagDefinitionError(f"{path}[{n}]", "must be text, a number or a boolean")
    return tuple(value)


def _text_list(value: object, path: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise FlagDefinitionError(path, "must be a non-empty list of networks, e.g. ['10.0.0.0/8']")
    for n, item in enumerate(value):
        if not isinstance(item, str):
            raise FlagDefinitionError(f"{path}[{n}]", "must be a network in CIDR notation")
    return tuple(value)


def _network(cidr: str, path: str) -> tuple[int, int, int]:
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        hint = ""
        with contextlib.suppress(ValueError):
            hint = f"; did you mean {ipaddress.ip_network(cidr, strict=False)}?"
        raise FlagDefinitionError(path, f"{cidr!r} is not a network ({exc}){hint}") from exc
    return network.version, int(network.network_address), int(network.netmask)


def _parse_version(value: object) -> semver.Version | None:
    if not isinstance(value, str):
        return None
    try:
        return semver.Version.parse(value)
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def _parse_ip(text: str) -> tuple[int, int] | None:
    """(version, integer) of an address; an IPv4-mapped IPv6 address counts as its IPv4 one, so
    a dual-stack proxy's ``::ffff:10.0.0.1`` matches ``10.0.0.0/8``."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.version, int(address)
