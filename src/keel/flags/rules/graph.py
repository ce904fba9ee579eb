"""Prerequisite links between flags: cycles to refuse at save time, and an order to evaluate in."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from keel.flags.rules.definition import Flag


def find_prerequisite_cycle(flags: Iterable[Flag]) -> tuple[str, ...]:
    """A cycle as the path that closes it, e.g. ``("a", "b", "a")``; ``()`` when there is none.

    A prerequisite naming a flag that is not in ``flags`` is no cycle: evaluation reports it
    as missing, since deleting a flag must not make its dependants unsavable."""
    return _walk(_links(flags))[1]


def dependency_order(flags: Iterable[Flag]) -> tuple[str, ...]:
    """Every key after the keys it requires; assumes no cycle (check with the function above)."""
    return _walk(_links(flags))[0]


def _links(flags: Iterable[Flag]) -> dict[str, tuple[str, ...]]:
    return {flag.key: tuple(p.flag for p in flag.prerequisites) for flag in flags}


def _walk(links: Mapping[str, tuple[str, ...]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Depth-first, without recursion so that a long chain cannot hit the recursion limit."""
    done: set[str] = set()
    order: list[str] = []
    for root in links:
        if root in done:
            continue
        path: list[str] = [root]
        stack: list[Iterator[str]] = [iter(links[root])]
        while stack:
            required = next(stack[-1], None)
            if required is None:
                stack.pop()
                finished = path.pop()
                done.add(finished)
                order.append(finished)
            elif required in path:
                return tuple(order), (*path[path.index(required) :], required)
            elif required in links and required not in done:
                path.append(required)
                stack.append(iter(links[required]))
    return tuple(order), ()
