"""Password policy, email normalization and the onboarding checklist: pure, table-driven."""

from __future__ import annotations

import pytest

from keel.users import rules

EMOJI_100 = ("🦊 quiet river " * 10)[:100]


def full_width(text: str) -> str:
    """The same letters as typed on a CJK keyboard (U+FF01..U+FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def messages(
    password: str,
    *,
    min_length: int = 12,
    email: str | None = "ada@example.com",
    name: str | None = "Grace Hopper",
) -> list[str]:
    violations = rules.password_violations(
        rules.normalize_password(password), min_length=min_length, email=email, name=name
    )
    return [v.message for v in violations]


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("correct horse battery staple", []),
        (EMOJI_100, []),
        ("x" * 256, []),
        ("short pass", ["at least 12 characters"]),
        ("x" * 257, ["at most 256 characters"]),
        ("Password1234", ["common or breached"]),
        ("PASSWORD1234", ["common or breached"]),
        ("my ada@example is secret", ["email address"]),
        ("xXADAx-HOPPER-long-pass", ["email address", "your name"]),
        ("lovelace rocks forever", []),
    ],
)
def test_password_violations__table__expected_messages(password: str, expected: list[str]) -> None:
    # When checked against the policy
    found = messages(password)
    # Then each expected problem is named, and nothing else
    assert len(found) == len(expected), found
    for fragment, message in zip(expected, found, strict=True):
        assert fragment in message


def test_password_violations__name_tokens__each_long_token_checked() -> None:
    # Given a name with a long token and a short one
    # When the password contains the long one in other case, Then refused; the short one is fine
    assert messages("LOVELACE and more words", name="Al Lovelace") != []
    assert messages("al and other long words", name="Al Lovelace") == []


def test_password_violations__short_email_local_part__ignored() -> None:
    assert messages("bo is a fine long password", email="bo@example.com", name=None) == []


@pytest.mark.parametrize("setting", [1, 4, 7])
def test_password_violations__setting_below_8__floor_of_8_applies(setting: int) -> None:
    assert messages("sevenpw", min_length=setting) != []
    assert messages("eight ok", min_length=setting, name=None) == []


def test_password_violations__length__counted_in_code_points_after_nfkc() -> None:
    # Given a full-width password: NFKC folds it to ASCII
    normalized = rules.normalize_password(full_width("trembling planet"))
    # Then it is the same password typed on another keyboard, 16 code points long
    assert normalized == "trembling planet"
    assert rules.password_violations(normalized, min_length=17) != []
    assert rules.password_violations(normalized, min_length=16) == []


def test_password_violations__custom_common_list__exact_case_insensitive_match() -> None:
    common = {"tiny list entry"}
    assert rules.password_violations("Tiny List Entry", min_length=8, common=common) != []
    assert rules.password_violations("tiny list entry!", min_length=8, common=common) == []


def test_common_passwords__zxcvbn_list__loaded_once_lowercase() -> None:
    words = rules.common_passwords()
    assert "password" in words and "123456" in words
    assert len(words) > 20_000
    assert rules.common_passwords() is words


def test_password_violations__field__carried_on_each_violation() -> None:
    [violation] = rules.password_violations("short", min_length=12, field="new_password")
    assert violation.field == "new_password"


@pytest.mark.parametrize(
    ("given", "normalized"),
    [("Ada@Example.COM", "ada@example.com"), ("  bob@example.com ", "bob@example.com")],
)
def test_normalize_email__variants__one_spelling(given: str, normalized: str) -> None:
    assert rules.normalize_email(given) == normalized


def test_normalize_email__not_an_address__invalid_email() -> None:
    with pytest.raises(rules.InvalidEmail):
        rules.normalize_email("not-an-address")


# ---- onboarding -----------------------------------------------------------------------------

ALL_OPEN: dict[str, str] = {}
TOUR_DONE = {"feature_tour": "done"}


@pytest.mark.parametrize(
    ("before", "step", "state", "after", "complete"),
    [
        (ALL_OPEN, "feature_tour", "done", TOUR_DONE, False),
        (TOUR_DONE, "feature_tour", "skipped", {"feature_tour": "skipped"}, False),
        (
            TOUR_DONE,
            None,
            "skipped",
            {"organization_details": "skipped", "feature_tour": "done", "integrations": "skipped"},
            True,
        ),
        (
            {"organization_details": "done", "feature_tour": "done"},
            "integrations",
            "done",
            {"organization_details": "done", "feature_tour": "done", "integrations": "done"},
            True,
        ),
    ],
)
def test_onboarding_steps_after__change__new_steps_and_completion(
    before: dict[str, str],
    step: str | None,
    state: rules.StepState,
    after: dict[str, str],
    complete: bool,
) -> None:
    result = rules.onboarding_steps_after(before, step=step, state=state)
    assert result == after
    assert rules.onboarding_complete(result) is complete
    assert before is not result  # the stored dict is replaced, never mutated in place


@pytest.mark.parametrize(
    ("active", "erasure_requested", "completed", "wanted"),
    [
        (True, False, False, True),
        (False, False, False, False),
        (True, True, False, False),
        (True, False, True, False),
    ],
)
def test_onboarding_mail_wanted__account_state__decides(
    active: bool, erasure_requested: bool, completed: bool, wanted: bool
) -> None:
    assert (
        rules.onboarding_mail_wanted(
            active=active, erasure_requested=erasure_requested, completed=completed
        )
        is wanted
    )
