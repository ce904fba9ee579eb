"""Permission checks in-process: Keel's decide() (RBAC with scopes + 2 ABAC policies) next to
pycasbin's enforce() on an RBAC-with-domains model, over the same requests.

    uv run python -m bench.access [--checks 200000] [--casbin-checks 200000]

1,000 users across 100 tenants, each with an organization role; 5,000 documents. Nine
requests in ten stay inside the user's tenant. Casbin's model knows roles per domain but not
scopes (own/team) nor ABAC, so it does strictly less work per check than decide().
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from datetime import time as clock

import casbin  # type: ignore[import-untyped]  # pycasbin ships no type hints

from keel.access import rules
from keel.access import service as access_service
from keel.access.schemas import AccessibleOrgId, Actor, OrgAccess

TENANTS = 100
USERS = 1_000
DOCUMENTS = 5_000
PERMISSIONS = ("documents:read",) * 6 + ("documents:write", "projects:read", "users:read")

CASBIN_MODEL = """
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && keyMatch(r.dom, p.dom) && r.obj == p.obj && r.act == p.act
"""

Request = tuple[rules.Subject, str, rules.Resource]


def policies() -> rules.PolicySet:
    """The seed's documentAccessPolicy (allow) plus a deny on restricted documents."""
    seed = rules.Policy(
        "documentAccessPolicy",
        "engineering reads public/internal documents from the office in office hours",
        "documents",
        "read",
        "allow",
        (
            rules.AttributeEquals("user", "department", "engineering"),
            rules.AttributeIn("resource", "classification", ("public", "internal")),
            rules.IpInNetworks(("10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32")),
            rules.TimeWindow(clock(9), clock(17), "Europe/Paris"),
        ),
    )
    restricted = rules.Policy(
        "no-restricted",
        "restricted documents are never read through the API",
        "documents",
        "read",
        "deny",
        (rules.AttributeEquals("resource", "classification", "restricted"),),
    )
    return rules.PolicySet.compile([seed, restricted])


def subjects(rng: random.Random) -> list[rules.Subject]:
    return [
        rules.Subject(
            user_id=f"u{n}",
            organization_id=f"t{n % TENANTS}",
            roles=rules.roles_named(rules.ROLE_ORDER[n % len(rules.ROLE_ORDER)]),
            team_ids=frozenset({f"team{n % 7}"}),
            attributes={"department": rng.choice(("engineering", "engineering", "sales"))},
        )
        for n in range(USERS)
    ]


def documents(rng: random.Random) -> list[rules.Resource]:
    classes = ("public", "internal", "internal", "confidential", "restricted")
    return [
        rules.Resource(
            type="documents",
            organization_id=f"t{n % TENANTS}",
            owner_id=f"u{rng.randrange(USERS)}",
            team_id=f"team{n % 7}",
            attributes={"classification": rng.choice(classes)},
        )
        for n in range(DOCUMENTS)
    ]


def requests(count: int, rng: random.Random) -> list[Request]:
    users, docs = subjects(rng), documents(rng)
    by_tenant: dict[object, list[rules.Resource]] = {}
    for doc in docs:
        by_tenant.setdefault(doc.organization_id, []).append(doc)
    out: list[Request] = []
    for _ in range(count):
        user = rng.choice(users)
        own = rng.random() < 0.9
        doc = rng.choice(by_tenant[user.organization_id]) if own else rng.choice(docs)
        out.append((user, rng.choice(PERMISSIONS), doc))
    return out


def enforcer(users: Sequence[rules.Subject]) -> casbin.Enforcer:
    model = casbin.Enforcer.new_model(text=CASBIN_MODEL)
    enforcer = casbin.Enforcer(model)
    for role in rules.ROLE_ORDER:
        for permission in sorted(rules.ROLES[role].by_permission):
            obj, _, act = permission.partition(":")
            enforcer.add_policy(role, "*", obj, act)
    for user in users:
        enforcer.add_grouping_policy(user.user_id, user.roles[0].name, user.organization_id)
    return enforcer


def timed(label: str, count: int, check: Callable[[], int]) -> float:
    started = time.perf_counter()
    allowed = check()
    elapsed = time.perf_counter() - started
    micro = elapsed / count * 1e6
    print(
        f"{label:<34} {count / elapsed:>12,.0f} checks/s {micro:>9.2f} µs/check",
        f"{allowed:>7} allowed",
    )
    return micro


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checks", type=int, default=200_000)
    parser.add_argument("--casbin-checks", type=int, default=200_000)
    args = parser.parse_args()
    load = requests(args.checks, random.Random(7))  # noqa: S311 - a reproducible load, not a secret
    policy_set = policies()
    env = rules.Environment(ip="10.1.2.3", now=datetime(2025, 3, 4, 10, 0, tzinfo=UTC))
    decide = rules.decide

    def ours() -> int:
        return sum(decide(s, p, r, env, policy_set).allowed for s, p, r in load)

    casbin_load = [
        (s.user_id, r.organization_id, *p.split(":")) for s, p, r in load[: args.casbin_checks]
    ]
    enforce = enforcer(list({id(s): s for s, _, _ in load}.values())).enforce

    def theirs() -> int:
        return sum(bool(enforce(*request)) for request in casbin_load)

    full = [(s, p, r) for s, p, r in load if decide(s, p, r, env, policy_set).policy]
    full = (full * (len(load) // max(len(full), 1) + 1))[: len(load)]

    def ours_full_path() -> int:
        return sum(decide(s, p, r, env, policy_set).allowed for s, p, r in full)

    accesses = {
        id(s): OrgAccess(
            org_id=AccessibleOrgId(uuid.uuid5(uuid.NAMESPACE_URL, str(s.organization_id))),
            actor=Actor(kind="user", id=str(s.user_id), ip="10.1.2.3"),
            subject=s,
            policies=policy_set,
            role=s.roles[0].name,
            plan="free",
            environment=env,
        )
        for s, _, _ in load
    }
    routed = [(accesses[id(s)], p, r) for s, p, r in load]
    check = access_service.check

    def ours_service() -> int:
        return sum(check(a, p, r).allowed for a, p, r in routed)

    ours_us = timed("keel decide (RBAC+scopes+2 ABAC)", len(load), ours)
    timed("keel decide, every check runs ABAC", len(full), ours_full_path)
    timed("keel access.check (what routes call)", len(routed), ours_service)
    casbin_us = timed("pycasbin enforce (RBAC w/ domains)", len(casbin_load), theirs)
    print(
        f"keel is {casbin_us / ours_us:.1f}x faster per check; target ≤ 5 µs: "
        f"{'met' if ours_us <= 5 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
