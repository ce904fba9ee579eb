"""Pure rules about users: how an email address is normalized, which passwords are
acceptable, and the onboarding checklist.

Password policy (NIST SP 800-63B): NFKC-normalized first, so one password typed on two
keyboards is one password; length counted in code points; no composition rules; refused when
common or breached, or when it contains the owner's email local part or name. Nothing is
truncated: argon2 hashes the whole normalized string.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from email_validator import EmailNotValidError, validate_email

#: Never accept less than this, whatever the setting says.
ABSOLUTE_MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
#: Shorter fragments (``al``, ``bo``) would refuse too many innocent passwords.
MIN_PERSONAL_FRAGMENT = 3


class InvalidEmail(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Violation:
    field: str
    message: str


def normalize_email(address: str) -> str:
    """One spelling per mailbox: IDNA domain, lower-cased whole address (Keel treats the
    local part case-insensitively, as every major provider does)."""
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from None


def normalize_password(password: str) -> str:
    """What is hashed and verified: NFKC folds compatibility forms (full-width letters,
    ligatures) so the same password typed on two keyboards matches."""
    return unicodedata.normalize("NFKC", password)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """zxcvbn's list of the 30 000 most frequent passwords from public breaches, lower-cased.
    Loaded on first use (the module is large) and kept for the life of the process."""
    module = importlib.import_module("zxcvbn.frequency_lists")
    words: list[str] = module.FREQUENCY_LISTS["passwords"]
    return frozenset(word.casefold() for word in words)


def password_violations(
    password: str,
    *,
    min_length: int,
    email: str | None = None,
    name: str | None = None,
    field: str = "password",
    common: Collection[str] | None = None,
) -> list[Violation]:
    """Everything wrong with ``password`` (already normalized); empty when acceptable.
    ``common`` defaults to :func:`common_passwords`; tests pass a small set."""
    messages = [
        *_length_problems(password, max(min_length, ABSOLUTE_MIN_PASSWORD_LENGTH)),
        *_common_problems(password, common if common is not None else common_passwords()),
        *_personal_problems(password, email=email, name=name),
    ]
    return [Violation(field, message) for message in messages]


def _length_problems(password: str, min_length: int) -> list[str]:
    length = len(password)
    if length < min_length:
        return [
            f"Use at least {min_length} characters (this one has {length}); a few "
            "unrelated words make a long password that is easy to remember."
        ]
    if length > MAX_PASSWORD_LENGTH:
        return [f"Use at most {MAX_PASSWORD_LENGTH} characters (this one has {length})."]
    return []


def _common_problems(password: str, common: Collection[str]) -> list[str]:
    if password.casefold() in common:
        return [
            "This password is on a list of common or breached passwords and would be "
            "guessed quickly; choose another, such as a phrase of unrelated words."
        ]
    return []


def _personal_problems(password: str, *, email: str | None, name: str | None) -> list[str]:
    folded = password.casefold()
    problems = []
    local_part = email.rpartition("@")[0].casefold() if email else ""
    if len(local_part) >= MIN_PERSONAL_FRAGMENT and local_part in folded:
        problems.append("The password contains your email address; choose one that does not.")
    if any(token in folded for token in name_tokens(name or "")):
        problems.append("The password contains your name; choose one that does not.")
    return problems


def name_tokens(name: str) -> list[str]:
    """The parts of a name long enough to matter, case-folded: "Ada Lovelace" -> ada, lovelace."""
    words = re.split(r"\W+", unicodedata.normalize("NFKC", name).casefold())
    return [word for word in words if len(word) >= MIN_PERSONAL_FRAGMENT]


# --- Onboarding -----------------------------------------------------------------------------
# The checklist the web app shows after sign-up: each step is done or skipped by the user;
# once none is left open, onboarding is complete and its emails stop.

ONBOARDING_STEPS = ("organization_details", "feature_tour", "integrations")
StepState = Literal["done", "skipped"]
DONE: Literal["done"] = "done"
SKIPPED: Literal["skipped"] = "skipped"


def onboarding_steps_after(
    steps: Mapping[str, str] | None, *, step: str | None, state: StepState
) -> dict[str, str]:
    """``steps`` with ``step`` set to ``state``; ``step=None`` skips every step not done."""
    after = dict(steps or {})
    if step is not None:
        after[step] = state
        return after
    return after | {name: SKIPPED for name in ONBOARDING_STEPS if after.get(name) != DONE}


def onboarding_complete(steps: Mapping[str, str] | None) -> bool:
    return all((steps or {}).get(name) in (DONE, SKIPPED) for name in ONBOARDING_STEPS)


def onboarding_mail_wanted(*, active: bool, erasure_requested: bool, completed: bool) -> bool:
    """Whether a step of the onboarding sequence still goes out: not to a disabled or erased
    account, nor to one who finished onboarding (unsubscribing is the mail's own check)."""
    return active and not erasure_requested and not completed
