"""Pure rules of the auth domain: which claims a token must carry, when a session is still
usable, how a re-presented refresh token is judged, and the brute-force arithmetic
(progressive delay, lock, fixed-window rate-limit headers). No I/O: plain data in, decision out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

ACCESS_CLAIMS = ("iss", "aud", "sub", "sid", "iat", "nbf", "exp", "jti")
MFA_CLAIMS = ("iss", "aud", "sub", "iat", "nbf", "exp", "jti")

_TIME_CLAIMS = ("exp", "nbf", "iat")


def claims_problem(
    payload: dict[str, Any],
    *,
    required: tuple[str, ...],
    issuer: str,
    audience: str,
    now: float,
    leeway: float,
) -> str | None:
    """Why a verified token's claims are unacceptable, or None when they are fine."""
    missing = [claim for claim in required if claim not in payload]
    if missing:
        return f"missing claims: {', '.join(missing)}"
    times = [payload[claim] for claim in _TIME_CLAIMS if claim in payload]
    checks = (
        (all(_is_number(value) for value in times), "exp, nbf and iat must be numbers"),
        (payload.get("iss") == issuer, "wrong issuer"),
        (_audience_matches(payload.get("aud"), audience), "wrong audience"),
    )
    failed = next((reason for ok, reason in checks if not ok), None)
    if failed is not None:
        return failed
    if payload["exp"] <= now - leeway:
        return "expired"
    if payload["nbf"] > now + leeway or payload["iat"] > now + leeway:
        return "not valid yet"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _audience_matches(claim: Any, audience: str) -> bool:
    if isinstance(claim, list):
        return audience in claim
    return bool(claim == audience)


#: Seconds to wait before answering the n-th consecutive failure (index = failures so far).
#: The first attempts are free so a typo costs nothing; a guesser slows down quickly.
DELAY_STEPS = (0.0, 0.0, 0.25, 0.5, 1.0, 2.0)

RefreshVerdict = Literal["reused", "raced"]


def progressive_delay(failures: int) -> float:
    if failures <= 0:
        return 0.0
    return DELAY_STEPS[min(failures, len(DELAY_STEPS) - 1)]


def is_locked(failures: int, *, threshold: int) -> bool:
    return failures >= threshold


def locks_now(failures: int, *, threshold: int) -> bool:
    """True for exactly the failure that reaches the threshold: lock, audit and email once."""
    return failures == threshold


def session_is_live(
    *,
    revoked_at: datetime | None,
    expires_at: datetime,
    user_active: bool,
    now: datetime,
) -> bool:
    return revoked_at is None and expires_at > now and user_active


def judge_rotated_refresh(
    rotated_at: datetime, *, now: datetime, grace_seconds: float
) -> RefreshVerdict:
    """A token rotated moments ago is the client racing itself (two tabs refreshing at once);
    one rotated longer ago was copied by someone else: the whole family must end."""
    if now - rotated_at > timedelta(seconds=grace_seconds):
        return "reused"
    return "raced"


def next_idle_expiry(*, now: datetime, idle_days: int, session_expires_at: datetime) -> datetime:
    return min(now + timedelta(days=idle_days), session_expires_at)


def admin_must_enroll(
    *, mfa_enabled: bool, admin_since: datetime, now: datetime, grace_days: int
) -> bool:
    """An organization admin without MFA may act during the grace period (so sign-up, landing
    on the dashboard and creating a first item are never blocked), and not after it."""
    return not mfa_enabled and now - admin_since >= timedelta(days=grace_days)
