"""Pure rules: read scopes, their SQL twin (Visibility), resources and safe FTS5 queries."""

from __future__ import annotations

import uuid

import pytest

from keel.access.rules import ROLES, Environment, Scope, Subject, decide
from keel.kit import clock
from keel.projects import rules
from keel.projects.rules import Visibility

ORG, ME, TEAM = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def subject(*roles: str, superadmin: bool = False) -> Subject:
    return Subject(
        user_id=ME,
        organization_id=ORG,
        roles=tuple(ROLES[r] for r in roles),
        team_ids=frozenset({TEAM}),
        is_superadmin=superadmin,
    )


@pytest.mark.parametrize(
    ("role", "permission", "scope"),
    [
        ("guest", "documents:read", "shared"),
        ("guest", "documents:write", None),
        ("user", "documents:read", "shared"),
        ("user", "documents:write", "own"),
        ("member", "documents:read", "organization"),
        ("member", "documents:write", "own"),
        ("manager", "documents:write", "team"),
        ("manager", "projects:delete", "team"),
        ("admin", "documents:delete", "organization"),
    ],
)
def test_widest_scope__role__catalog_scope(role: str, permission: str, scope: str | None) -> None:
    # Given a subject with one built-in role, When asked, Then the catalog's cell comes back
    assert rules.widest_scope(subject(role), permission) == scope


def test_widest_scope__superadmin__global() -> None:
    assert rules.widest_scope(subject(superadmin=True), "documents:read") == "global"


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (None, Visibility()),
        ("own", Visibility(owner_id=ME)),
        ("shared", Visibility(owner_id=ME, shared=True)),
        ("team", Visibility(owner_id=ME, team_ids=frozenset({TEAM}))),
        ("organization", Visibility(everything=True)),
        ("global", Visibility(everything=True)),
    ],
)
def test_visibility__scope__sql_twin(scope: Scope | None, expected: Visibility) -> None:
    # Given a read scope, When turned into a filter, Then it reaches what RBAC would
    assert rules.visibility(scope, subject("member")) == expected


@pytest.mark.parametrize(
    ("team_id", "expected"),
    [
        (TEAM, Visibility(everything=True)),
        (uuid.uuid4(), Visibility(owner_id=ME)),
        (None, Visibility(owner_id=ME)),
    ],
)
def test_documents_visibility__team_scope__whole_project_only_in_own_team(
    team_id: uuid.UUID | None, expected: Visibility
) -> None:
    # Given a team-scoped reader, When reading a project's documents, Then its team decides
    assert rules.documents_visibility("team", subject("member"), team_id) == expected


def test_visibility__nothing__reaches_no_row() -> None:
    assert rules.visibility(None, subject()).nothing and not Visibility(owner_id=ME).nothing


@pytest.mark.parametrize(
    ("shared_with", "allowed"),
    [([str(ME)], True), ([ME], True), ([str(uuid.uuid4())], False), ([], False)],
)
def test_document_resource__shared_with_text__guest_reads_only_when_named(
    shared_with: list[str | uuid.UUID], allowed: bool
) -> None:
    # Given a document owned by someone else, shared_with stored as text
    resource = rules.document_resource(
        organization_id=ORG,
        owner_id=uuid.uuid4(),
        team_id=None,
        classification="internal",
        shared_with=shared_with,
        tags=["a"],
    )
    # When a guest asks to read it
    decision = decide(subject("guest"), "documents:read", resource, Environment(None, clock.now()))
    # Then only a guest named in shared_with may
    assert decision.allowed is allowed
    assert resource.attributes["classification"] == "internal"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello world", '"hello" "world"'),
        ('"foo', '"foo"'),
        ("*", None),
        ("AND OR NOT", '"AND" "OR" "NOT"'),
        ("title:secret^2 (x", '"title" "secret" "2" "x"'),
        ("naïve café 東京", '"naïve" "café" "東京"'),
        ("   ", None),
        ("-- ; DROP TABLE documents", '"DROP" "TABLE" "documents"'),
    ],
)
def test_fts5_query__user_input__only_quoted_words(text: str, expected: str | None) -> None:
    # Given raw user input, When made into a MATCH expression, Then each word is a quoted string
    assert rules.fts5_query(text) == expected


def test_body_digest__any_body__no_text_kept() -> None:
    # Given a secret body, When digested for the audit log, Then none of the text is kept
    digest = rules.body_digest("the launch code is 0000")
    assert "launch" not in digest and digest.startswith("sha256:")
    assert digest != rules.body_digest("the launch code is 0001")
