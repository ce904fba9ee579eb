from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from datetime import time as clock

import pytest

from keel.access import rules
from keel.access.rules import (
    AttributeEquals,
    AttributeIn,
    Environment,
    Grant,
    IpInNetworks,
    Policy,
    PolicySet,
    Resource,
    Subject,
    TimeWindow,
)

ME, OTHER = "u-me", "u-other"
ORG, ELSEWHERE = "org-a", "org-b"
MY_TEAM, OTHER_TEAM = "team-1", "team-2"
ENV = Environment(ip="10.0.0.5", now=datetime(2025, 3, 4, 10, 0, tzinfo=UTC))  # Tue 11:00 Paris


def subject(*roles: str, superadmin: bool = False, **attributes: object) -> Subject:
    return Subject(ME, ORG, rules.roles_named(*roles), frozenset({MY_TEAM}), superadmin, attributes)


def resource(where: str, kind: str = "documents", **attributes: object) -> Resource:
    """own | team | org | other-org: where the resource lies relative to the subject."""
    places = {
        "own": (ORG, ME, OTHER_TEAM),
        "team": (ORG, OTHER, MY_TEAM),
        "org": (ORG, OTHER, OTHER_TEAM),
        "other-org": (ELSEWHERE, ME, MY_TEAM),
    }
    org, owner, team = places[where]
    return Resource(kind, org, owner, team, attributes)


# ---- catalog -----------------------------------------------------------------------------------


def test_catalog__docstring_table__matches_the_roles() -> None:
    drawn = "\n".join(f"    {line}" for line in rules.catalog_table().splitlines())
    assert drawn in (rules.__doc__ or "")


@pytest.mark.parametrize(
    ("role", "minimum", "expected"),
    [
        ("admin", "manager", True),
        ("manager", "member", True),
        ("member", "user", True),
        ("user", "guest", True),
        ("member", "member", True),
        ("guest", "user", False),
        ("manager", "admin", False),
    ],
)
def test_role_at_least__hierarchy__ordered(role: str, minimum: str, expected: bool) -> None:
    assert rules.role_at_least(role, minimum) is expected


def test_role_at_least__unknown_role__refused() -> None:
    with pytest.raises(ValueError, match="unknown organization role 'owner'"):
        rules.role_at_least("owner", "admin")


def test_roles__higher_role__inherits_every_lower_grant() -> None:
    for lower, higher in zip(rules.ROLE_ORDER, rules.ROLE_ORDER[1:], strict=False):
        assert set(rules.ROLES[lower].by_permission) <= set(rules.ROLES[higher].by_permission)


# ---- RBAC: role x permission x place -----------------------------------------------------------

RBAC_TABLE = [
    # admin: organization scope on everything it holds
    ("admin", "users:delete", "org", True),
    ("admin", "billing:update", "org", True),
    ("admin", "settings:update", "org", True),
    ("admin", "documents:delete", "org", True),
    ("admin", "documents:read", "other-org", False),
    # manager: team scope for content, organization for users:read and analytics
    ("manager", "documents:write", "team", True),
    ("manager", "documents:write", "own", True),
    ("manager", "documents:write", "org", False),
    ("manager", "documents:read", "org", True),
    ("manager", "users:read", "org", True),
    ("manager", "users:create", "org", False),
    ("manager", "billing:read", "org", False),
    ("manager", "team:write", "team", True),
    ("manager", "team:write", "org", False),
    ("manager", "projects:delete", "other-org", False),
    # member: writes its own, reads the organization's content
    ("member", "documents:write", "own", True),
    ("member", "documents:write", "team", False),
    ("member", "documents:read", "org", True),
    ("member", "projects:read", "org", True),
    ("member", "documents:delete", "own", False),
    ("member", "analytics:read", "org", False),
    ("member", "documents:read", "other-org", False),
    # user: own content only
    ("user", "documents:read", "own", True),
    ("user", "documents:write", "own", True),
    ("user", "documents:read", "team", False),
    ("user", "documents:read", "org", False),
    ("user", "profile:write", "own", True),
    ("user", "users:read", "org", False),
    # guest: own profile, nothing else unless shared
    ("guest", "profile:read", "own", True),
    ("guest", "profile:write", "own", False),
    ("guest", "documents:read", "own", True),
    ("guest", "documents:read", "org", False),
    ("guest", "documents:write", "own", False),
]


@pytest.mark.parametrize(("role", "permission", "where", "allowed"), RBAC_TABLE)
def test_rbac__role_permission_scope__as_catalog(
    role: str, permission: str, where: str, allowed: bool
) -> None:
    # Given a subject with one role, When it asks for a permission on a resource placed
    # relative to it, Then the catalog's scope decides
    kind = permission.partition(":")[0]
    result = rules.rbac_decide(subject(role), permission, resource(where, kind))
    assert result.allowed is allowed
    assert (result.role is not None and result.role.name == role) is allowed


@pytest.mark.parametrize("where", ["own", "team", "org", "other-org"])
@pytest.mark.parametrize("permission", sorted(rules.PERMISSIONS))
def test_superadmin__anywhere__allowed_at_global_scope(permission: str, where: str) -> None:
    result = rules.rbac_decide(subject(superadmin=True), permission, resource(where))
    assert result.allowed
    assert result.grant == Grant(permission, "global")


def test_superadmin_role_without_flag__other_org__denied() -> None:
    # The role alone is not the platform flag: another tenant stays closed (fail-closed)
    result = rules.rbac_decide(subject("superadmin"), "documents:read", resource("other-org"))
    assert not result.allowed
    assert "another organization" in result.reason


@pytest.mark.parametrize(
    ("shared_with", "allowed"),
    [((ME,), True), ([OTHER, ME], True), ((OTHER,), False), ((), False), (None, False)],
)
def test_guest__shared_with_attribute__reads_only_what_names_it(
    shared_with: object, allowed: bool
) -> None:
    attrs = {} if shared_with is None else {"shared_with": shared_with}
    doc = Resource("documents", ORG, OTHER, OTHER_TEAM, attrs)
    result = rules.rbac_decide(subject("guest"), "documents:read", doc)
    assert result.allowed is allowed


def test_team_scope__shared_resource_outside_team__included_like_every_narrower_scope() -> None:
    # Given a custom role reading documents at team scope, and a document of another team
    role = rules.custom_role("team-reader", [Grant("documents:read", "team")])
    reader = Subject(ME, ORG, (role,), frozenset({MY_TEAM}))
    doc = Resource("documents", ORG, OTHER, OTHER_TEAM, {"shared_with": [ME]})
    # Then team scope reaches what is shared with the reader (team includes shared)
    assert rules.rbac_decide(reader, "documents:read", doc).allowed
    assert not rules.rbac_decide(reader, "documents:read", resource("org")).allowed


def test_shared_with__ids_stored_as_text__match_a_uuid_subject() -> None:
    user = uuid.uuid4()
    reader = Subject(user, ORG, rules.roles_named("guest"))
    doc = Resource("documents", ORG, OTHER, None, {"shared_with": [str(user)]})
    assert rules.rbac_decide(reader, "documents:read", doc).allowed


def test_guest__shared_document__still_cannot_write() -> None:
    doc = resource("org", shared_with=(ME,))
    assert not rules.rbac_decide(subject("guest"), "documents:write", doc).allowed


def test_rbac__no_role__denied_naming_the_permission() -> None:
    result = rules.rbac_decide(subject(), "billing:read", resource("org", "billing"))
    assert not result.allowed
    assert result.reason == "no role grants billing:read (roles: none)"


def test_rbac__several_roles__widest_matching_role_decides() -> None:
    result = rules.rbac_decide(subject("user", "manager"), "documents:write", resource("team"))
    assert result.allowed
    assert result.role is rules.ROLES["manager"]


# ---- custom roles ------------------------------------------------------------------------------


def test_custom_role__catalog_subset__grants_exactly_that() -> None:
    auditor = rules.custom_role(
        "auditor", [Grant("analytics:read", "organization"), Grant("documents:read", "team")]
    )
    who = Subject(ME, ORG, (auditor,), frozenset({MY_TEAM}))
    assert rules.rbac_decide(who, "analytics:read", resource("org", "analytics")).allowed
    assert rules.rbac_decide(who, "documents:read", resource("team")).allowed
    assert not rules.rbac_decide(who, "documents:read", resource("org")).allowed
    assert not rules.rbac_decide(who, "billing:read", resource("org", "billing")).allowed


@pytest.mark.parametrize(
    ("name", "grant", "message"),
    [
        ("auditor", Grant("documents:publish", "own"), "unknown permission 'documents:publish'"),
        ("auditor", Grant("users:read", "global"), "reserved to the platform superadmin"),
        ("admin", Grant("users:read", "own"), "'admin' is a built-in role"),
    ],
)
def test_custom_role__invalid__refused(name: str, grant: Grant, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rules.custom_role(name, [grant])


# ---- ABAC conditions ---------------------------------------------------------------------------


def at(ip: str | None = "10.0.0.5", when: str = "2025-03-04T10:00:00+00:00") -> Environment:
    return Environment(ip=ip, now=datetime.fromisoformat(when))


@pytest.mark.parametrize(
    ("ip", "holds"),
    [
        ("10.1.2.3", True),
        ("192.168.1.77", True),
        ("192.168.2.1", False),
        ("2001:db8::1", True),
        ("2001:db9::1", False),
        ("::ffff:10.0.0.9", True),  # IPv4-mapped IPv6 is the IPv4 client
        ("not-an-ip", False),
        (None, False),
    ],
)
def test_ip_in_networks__v4_and_v6__membership(ip: str | None, holds: bool) -> None:
    office = IpInNetworks(("10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32"))
    assert office.holds(subject(), resource("own"), at(ip=ip)) is holds


OFFICE_HOURS = TimeWindow(clock(9), clock(17), "Europe/Paris", rules.MONDAY_TO_FRIDAY)
NIGHT_SHIFT = TimeWindow(clock(22), clock(6), "Europe/Paris", frozenset({4}))  # opens Friday


@pytest.mark.parametrize(
    ("window", "when", "holds"),
    [
        (OFFICE_HOURS, "2025-03-04T08:00:00+00:00", True),  # Tue 09:00 CET, start included
        (OFFICE_HOURS, "2025-03-04T07:59:00+00:00", False),  # Tue 08:59 CET
        (OFFICE_HOURS, "2025-03-04T16:00:00+00:00", False),  # Tue 17:00 CET, end excluded
        (OFFICE_HOURS, "2025-07-01T07:30:00+00:00", True),  # Tue 09:30 CEST (UTC+2)
        (OFFICE_HOURS, "2025-07-01T15:30:00+00:00", False),  # Tue 17:30 CEST
        (OFFICE_HOURS, "2025-03-08T10:00:00+00:00", False),  # Saturday
        (NIGHT_SHIFT, "2025-03-07T21:30:00+00:00", True),  # Fri 22:30
        (NIGHT_SHIFT, "2025-03-08T02:00:00+00:00", True),  # Sat 03:00, window opened Friday
        (NIGHT_SHIFT, "2025-03-08T05:00:00+00:00", False),  # Sat 06:00, closed
        (NIGHT_SHIFT, "2025-03-08T21:30:00+00:00", False),  # Sat 22:30, not a Friday
        (NIGHT_SHIFT, "2025-03-07T02:00:00+00:00", False),  # Fri 03:00 belongs to Thursday
    ],
)
def test_time_window__zone_weekdays_midnight__as_local_clock(
    window: TimeWindow, when: str, holds: bool
) -> None:
    assert window.holds(subject(), resource("own"), at(when=when)) is holds


@pytest.mark.parametrize(
    ("when", "holds"),
    [
        ("2024-03-31T07:30:00+00:00", True),  # DST day: 09:30 CEST, the new offset applies
        ("2024-03-30T07:30:00+00:00", False),  # day before: 08:30 CET
        ("2024-10-27T15:30:00+00:00", True),  # back to CET: 16:30 (17:30 under CEST)
        ("2024-10-27T16:30:00+00:00", False),  # 17:30 CET
    ],
)
def test_time_window__dst_change_day__uses_the_day_offset(when: str, holds: bool) -> None:
    window = TimeWindow(clock(9), clock(17), "Europe/Paris")
    assert window.holds(subject(), resource("own"), at(when=when)) is holds


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: TimeWindow(clock(9), clock(9), "UTC"), "start != end"),
        (lambda: TimeWindow(clock(9), clock(17), "Mars/Olympus"), "unknown time zone"),
        (lambda: Environment(ip=None, now=datetime(2025, 1, 1)), "timezone-aware"),
    ],
)
def test_conditions__invalid_construction__refused(
    build: Callable[[], object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(
    ("condition", "attrs", "holds"),
    [
        (AttributeEquals("user", "department", "engineering"), {"department": "engineering"}, True),
        (AttributeEquals("user", "department", "engineering"), {"department": "sales"}, False),
        (AttributeEquals("user", "department", "engineering"), {}, False),
        (AttributeIn("user", "level", ("senior", "staff")), {"level": "staff"}, True),
        (AttributeIn("user", "level", ("senior", "staff")), {"level": ["staff"]}, False),
    ],
)
def test_attribute_conditions__user_attributes__equality_and_list(
    condition: AttributeEquals | AttributeIn, attrs: dict[str, object], holds: bool
) -> None:
    who = Subject(ME, ORG, attributes=attrs)
    assert condition.holds(who, resource("own"), ENV) is holds


# ---- decide: RBAC then ABAC --------------------------------------------------------------------

SEED_POLICY = Policy(
    "documentAccessPolicy",
    "engineering reads public/internal documents from the office in office hours",
    "documents",
    "read",
    "allow",
    (
        AttributeEquals("user", "department", "engineering"),
        AttributeIn("resource", "classification", ("public", "internal")),
        IpInNetworks(("10.0.0.0/8", "192.168.1.0/24")),
        TimeWindow(clock(9), clock(17), "Europe/Paris"),
    ),
)
NO_RESTRICTED = Policy(
    "no-restricted",
    "restricted documents are never read",
    "documents",
    "read",
    "deny",
    (AttributeEquals("resource", "classification", "restricted"),),
)
SEED = PolicySet.compile([SEED_POLICY])

IN_HOURS = "2025-03-04T10:00:00+00:00"  # 11:00 Paris


@pytest.mark.parametrize(
    ("department", "classification", "ip", "when", "allowed", "failing"),
    [
        ("engineering", "public", "10.2.3.4", IN_HOURS, True, None),
        ("engineering", "internal", "192.168.1.9", IN_HOURS, True, None),
        ("sales", "public", "10.2.3.4", IN_HOURS, False, "user.department"),
        ("engineering", "confidential", "10.2.3.4", IN_HOURS, False, "resource.classification"),
        ("engineering", "public", "8.8.8.8", IN_HOURS, False, "ip in"),
        ("engineering", "public", "10.2.3.4", "2025-03-04T17:00:00+00:00", False, "time 09:00"),
    ],
)
def test_seed_document_access_policy__each_condition__decides(
    department: str, classification: str, ip: str, when: str, allowed: bool, failing: str | None
) -> None:
    # Given a member (RBAC reads organization documents) and the seed's policy
    who = subject("member", department=department)
    doc = resource("org", classification=classification)
    # When the member reads
    decision = rules.decide(who, "documents:read", doc, at(ip=ip, when=when), SEED)
    # Then the policy decides, and the trace names the failing condition
    assert decision.allowed is allowed
    if failing is None:
        assert decision.outcome == "policy-allowed"
        assert "documentAccessPolicy" in decision.trace[1]
    else:
        assert decision.condition is not None
        assert str(decision.condition).startswith(failing)
        assert failing in decision.trace[1]


def test_decide__rbac_denies__policies_not_consulted() -> None:
    who = subject("user", department="engineering")
    decision = rules.decide(
        who, "documents:read", resource("org", classification="public"), ENV, SEED
    )
    assert not decision.allowed
    assert decision.outcome == "rbac-denied"
    assert decision.trace[1] == "ABAC not evaluated: RBAC denied"


def test_decide__deny_holds__overrides_a_holding_allow() -> None:
    both = PolicySet.compile([SEED_POLICY, NO_RESTRICTED])
    allow_all = Policy("open", "anyone", "documents", "read", "allow")
    who = subject("admin", department="engineering")
    doc = resource("org", classification="restricted")
    decision = rules.decide(
        who, "documents:read", doc, ENV, PolicySet.compile([allow_all, NO_RESTRICTED])
    )
    assert not decision.allowed
    assert decision.policy is NO_RESTRICTED
    assert "deny overrides" in decision.trace[1]
    assert not rules.decide(who, "documents:read", doc, ENV, both).allowed


def test_decide__deny_does_not_hold__rbac_answer_stands() -> None:
    policies = PolicySet.compile([NO_RESTRICTED])
    doc = resource("org", classification="public")
    decision = rules.decide(subject("member"), "documents:read", doc, ENV, policies)
    assert decision.allowed
    assert decision.outcome == "rbac"


def test_decide__allow_policies_present_none_holds__denied() -> None:
    doc = resource("org", classification="public")
    decision = rules.decide(subject("admin"), "documents:read", doc, ENV, SEED)
    assert not decision.allowed
    assert decision.outcome == "no-allow-held"
    assert decision.policy is SEED_POLICY


@pytest.mark.parametrize(
    ("permission", "kind"), [("documents:write", "documents"), ("projects:read", "projects")]
)
def test_decide__no_policy_for_type_and_action__rbac_answer_stands(
    permission: str, kind: str
) -> None:
    decision = rules.decide(subject("admin"), permission, resource("org", kind), ENV, SEED)
    assert decision.allowed
    assert decision.outcome == "rbac"


def test_decide__explain_trace__names_role_grant_policy_and_result() -> None:
    who = subject("member", department="engineering")
    doc = resource("org", classification="internal")
    decision = rules.decide(who, "documents:read", doc, ENV, SEED)
    assert decision.trace == [
        "RBAC allows: role 'member' grants documents:read at organization scope",
        "ABAC: allow policy 'documentAccessPolicy' (engineering reads public/internal "
        "documents from the office in office hours) holds",
        "allowed",
    ]


def test_decide__explain_trace__rbac_scope_too_narrow__says_so() -> None:
    decision = rules.decide(subject("manager"), "documents:write", resource("org"), ENV)
    assert decision.trace[0] == (
        "RBAC denies: documents:write at team scope does not reach this documents resource"
    )
    assert decision.trace[-1] == "denied"
