"""TOTP multi-factor authentication and single-use recovery codes.

A TOTP code is accepted once: the 30-second step it matched is recorded, and a code from the
same or an earlier step is refused (replay), even by two concurrent requests. Secrets are
encrypted at rest with the key ring bound to the user's id, so a secret copied to another
row does not decrypt. Recovery codes are shown once and stored as SHA-256.
"""

from __future__ import annotations

import io
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.audit import service as audit_service
from keel.audit.schemas import Target
from keel.auth import repository, rules
from keel.auth.errors import (
    InvalidMfaCode,
    MfaAlreadyEnabled,
    MfaEnrollmentRequired,
    MfaNotEnrolled,
)
from keel.auth.models import TotpFactor
from keel.kit import clock, security
from keel.kit.security import KeyRing
from keel.users.models import User

ISSUER = "Keel"
STEP_SECONDS = 30
WINDOW_STEPS = 1  # accept the previous and next step too: phones' clocks drift
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


@dataclass(frozen=True)
class Enrollment:
    secret: str
    otpauth_uri: str
    qr_svg: str


async def start_enrollment(
    session: AsyncSession, actor: Actor, user: User, *, keyring: KeyRing
) -> Enrollment:
    factor = await repository.totp_factor(session, user.id)
    if factor is not None and factor.confirmed_at is not None:
        raise MfaAlreadyEnabled("Two-factor authentication is already enabled.")
    secret = pyotp.random_base32()
    encrypted = keyring.encrypt(secret.encode(), context=user.id.bytes)
    if factor is None:
        session.add(TotpFactor(user_id=user.id, secret_encrypted=encrypted))
    else:
        factor.secret_encrypted, factor.last_used_step = encrypted, None
    await session.flush()
    await audit_service.record(session, actor, "mfa.enrollment_started", target=_target(user))
    return _enrollment(user, secret)


async def pending_enrollment(
    session: AsyncSession, user: User, *, keyring: KeyRing
) -> Enrollment | None:
    """The enrollment started and not yet confirmed, shown again (a reload, a mistyped code)
    rather than replaced: the secret the user may already have scanned stays the one to
    confirm. None when there is none (never started, or already confirmed)."""
    factor = await repository.totp_factor(session, user.id)
    if factor is None or factor.confirmed_at is not None:
        return None
    secret = keyring.decrypt(factor.secret_encrypted, context=user.id.bytes).decode()
    return _enrollment(user, secret)


async def confirm_enrollment(
    session: AsyncSession, actor: Actor, user: User, *, code: str, keyring: KeyRing
) -> list[str]:
    """Turn MFA on with the first valid code; returns the recovery codes (shown once)."""
    factor = await repository.totp_factor(session, user.id)
    if factor is None or factor.confirmed_at is not None:
        raise MfaNotEnrolled("Start an enrollment first; it may already be confirmed.")
    if not await _accept_totp(session, factor, code, keyring=keyring, user_id=user.id):
        raise InvalidMfaCode("That code is not valid; enter the current one from your app.")
    factor.confirmed_at = clock.now()
    codes = await _new_recovery_codes(session, user.id)
    await audit_service.record(session, actor, "mfa.enabled", target=_target(user))
    return codes


async def disable(
    session: AsyncSession, actor: Actor, user: User, *, password: str, code: str, keyring: KeyRing
) -> None:
    """Needs both the password and a second factor: a stolen session alone cannot turn MFA
    off."""
    if user.password_hash is None or not await security.verify_password(
        user.password_hash, password
    ):
        raise InvalidMfaCode("The password or the code is not valid.")
    if not await verify_second_factor(session, actor, user, code=code, keyring=keyring):
        raise InvalidMfaCode("The password or the code is not valid.")
    await repository.delete_mfa(session, user.id)
    await audit_service.record(session, actor, "mfa.disabled", target=_target(user))


async def reset(session: AsyncSession, actor: Actor, user: User) -> bool:
    """Remove the user's TOTP factor and recovery codes without either (the platform owner
    helping someone who lost their device): they log in with the password alone and may
    enroll again. False, and nothing recorded, when there was nothing to remove. Audited as
    ``mfa.reset``; who may do it is the caller's check (``keel.auth.service.platform``)."""
    if await repository.totp_factor(session, user.id) is None:
        return False
    await repository.delete_mfa(session, user.id)
    await audit_service.record(session, actor, "mfa.reset", target=_target(user))
    return True


async def regenerate_recovery_codes(
    session: AsyncSession, actor: Actor, user: User, *, code: str, keyring: KeyRing
) -> list[str]:
    if not await is_enabled(session, user.id):
        raise MfaNotEnrolled("Two-factor authentication is not enabled.")
    if not await verify_second_factor(session, actor, user, code=code, keyring=keyring):
        raise InvalidMfaCode("That code is not valid; enter the current one from your app.")
    codes = await _new_recovery_codes(session, user.id)
    await audit_service.record(
        session, actor, "mfa.recovery_codes_regenerated", target=_target(user)
    )
    return codes


async def ensure_admin_may_act(
    session: AsyncSession, user: User, *, admin_since: datetime, grace_days: int
) -> None:
    """The gate for an organization's administrative operations (members, roles, billing,
    API keys, webhooks, deleting the organization): raises ``MfaEnrollmentRequired`` once the
    admin's grace period (``KEEL_AUTH__MFA_GRACE_DAYS``) is over without MFA."""
    if rules.admin_must_enroll(
        mfa_enabled=await is_enabled(session, user.id),
        admin_since=admin_since,
        now=clock.now(),
        grace_days=grace_days,
    ):
        raise MfaEnrollmentRequired(
            "Administrators must turn on two-factor authentication: POST /api/v1/me/mfa/totp, "
            "then confirm it. Only enrollment is allowed until then."
        )


async def is_enabled(session: AsyncSession, user_id: uuid.UUID) -> bool:
    factor = await repository.totp_factor(session, user_id)
    return factor is not None and factor.confirmed_at is not None


async def enabled_among(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``user_ids`` have MFA on, in one query (a members list shows it per row)."""
    ids = list(user_ids)
    return await repository.confirmed_totp_users(session, ids) if ids else set()


async def verify_second_factor(
    session: AsyncSession, actor: Actor, user: User, *, code: str, keyring: KeyRing
) -> bool:
    """A TOTP code (once per step) or an unused recovery code (once ever)."""
    factor = await repository.totp_factor(session, user.id)
    if factor is None or factor.confirmed_at is None:
        return False
    cleaned = code.strip().replace(" ", "")
    if cleaned.isdigit():
        return await _accept_totp(session, factor, cleaned, keyring=keyring, user_id=user.id)
    used = await repository.use_recovery_code(
        session, user.id, security.token_hash(_normalize_recovery(cleaned)), now=clock.now()
    )
    if used:
        await audit_service.record(session, actor, "mfa.recovery_code_used", target=_target(user))
    return used


async def _accept_totp(
    session: AsyncSession, factor: TotpFactor, code: str, *, keyring: KeyRing, user_id: uuid.UUID
) -> bool:
    secret = keyring.decrypt(factor.secret_encrypted, context=user_id.bytes).decode()
    step = matching_step(secret, code, now=clock.now())
    if step is None:
        return False
    return await repository.advance_totp_step(session, factor.id, step)


def matching_step(secret: str, code: str, *, now: datetime) -> int | None:
    """The time step (within the allowed drift) whose code equals ``code``, else None."""
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = totp.timecode(now)
    for step in range(current - WINDOW_STEPS, current + WINDOW_STEPS + 1):
        if security.same(totp.generate_otp(step), code):
            return step
    return None


async def _new_recovery_codes(session: AsyncSession, user_id: uuid.UUID) -> list[str]:
    codes = [_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    hashes = [security.token_hash(_normalize_recovery(c)) for c in codes]
    await repository.replace_recovery_codes(session, user_id, hashes)
    return codes


def _recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _normalize_recovery(code: str) -> str:
    return code.lower().replace("-", "").replace(" ", "")


def _enrollment(user: User, secret: str) -> Enrollment:
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return Enrollment(secret=secret, otpauth_uri=uri, qr_svg=_qr_svg(uri))


def _qr_svg(uri: str) -> str:
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, xmldecl=False)
    return out.getvalue().decode()


def _target(user: User) -> Target:
    return Target("user", str(user.id))
