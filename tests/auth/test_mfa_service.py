"""TOTP enrollment, verification with replay protection, recovery codes, encryption at rest."""

from __future__ import annotations

import os
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from keel.access.schemas import Actor
from keel.auth import repository, rules
from keel.auth.errors import InvalidMfaCode, MfaAlreadyEnabled, MfaEnrollmentRequired
from keel.auth.service import mfa
from keel.config import Settings
from keel.kit import clock
from keel.kit.security import InvalidCiphertext, KeyRing
from keel.users import service as users_service
from keel.users.models import User

PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def keyring(settings: Settings) -> KeyRing:
    return KeyRing.from_settings(settings)


async def new_user(db: AsyncSession, email: str = "mfa@example.com") -> User:
    return await users_service.create(
        db, Actor.system(), email=email, name="Mfa Person", password=PASSWORD
    )


def code_at(secret: str, *, steps_from_now: int = 0) -> str:
    moment = clock.now() + timedelta(seconds=30 * steps_from_now)
    return pyotp.TOTP(secret).at(moment)


async def enrolled(db: AsyncSession, keyring: KeyRing) -> tuple[User, str, list[str]]:
    user = await new_user(db)
    enrollment = await mfa.start_enrollment(db, Actor.system(), user, keyring=keyring)
    codes = await mfa.confirm_enrollment(
        db,
        Actor.system(),
        user,
        code=code_at(enrollment.secret, steps_from_now=-1),
        keyring=keyring,
    )
    return user, enrollment.secret, codes


async def test_enrollment__started__uri_qr_and_encrypted_secret(
    db: AsyncSession, keyring: KeyRing
) -> None:
    user = await new_user(db)
    enrollment = await mfa.start_enrollment(db, Actor.system(), user, keyring=keyring)
    assert enrollment.otpauth_uri.startswith("otpauth://totp/Keel:mfa%40example.com?")
    assert f"secret={enrollment.secret}" in enrollment.otpauth_uri
    assert enrollment.qr_svg.lstrip().startswith("<svg")
    factor = await repository.totp_factor(db, user.id)
    assert factor is not None and factor.confirmed_at is None
    assert enrollment.secret.encode() not in factor.secret_encrypted
    assert not await mfa.is_enabled(db, user.id)


async def test_confirm__valid_code__enabled_with_ten_unique_recovery_codes(
    db: AsyncSession, keyring: KeyRing
) -> None:
    user, _, codes = await enrolled(db, keyring)
    assert await mfa.is_enabled(db, user.id)
    assert len(codes) == len(set(codes)) == 10
    assert await repository.remaining_recovery_codes(db, user.id) == 10


async def test_confirm__wrong_code__refused(db: AsyncSession, keyring: KeyRing) -> None:
    user = await new_user(db)
    await mfa.start_enrollment(db, Actor.system(), user, keyring=keyring)
    with pytest.raises(InvalidMfaCode):
        await mfa.confirm_enrollment(db, Actor.system(), user, code="000000", keyring=keyring)
    assert not await mfa.is_enabled(db, user.id)


async def test_totp__same_code_twice__replay_refused(db: AsyncSession, keyring: KeyRing) -> None:
    user, secret, _ = await enrolled(db, keyring)
    code = code_at(secret)
    assert await mfa.verify_second_factor(db, Actor.system(), user, code=code, keyring=keyring)
    assert not await mfa.verify_second_factor(db, Actor.system(), user, code=code, keyring=keyring)
    # an older step's code is refused too, a newer one within the drift window is accepted
    older = code_at(secret, steps_from_now=-1)
    assert not await mfa.verify_second_factor(db, Actor.system(), user, code=older, keyring=keyring)
    newer = code_at(secret, steps_from_now=1)
    assert await mfa.verify_second_factor(db, Actor.system(), user, code=newer, keyring=keyring)


async def test_totp__outside_drift_window__refused(db: AsyncSession, keyring: KeyRing) -> None:
    user, secret, _ = await enrolled(db, keyring)
    far = code_at(secret, steps_from_now=3)
    assert not await mfa.verify_second_factor(db, Actor.system(), user, code=far, keyring=keyring)


async def test_recovery_code__works_once_any_spelling(db: AsyncSession, keyring: KeyRing) -> None:
    user, _, codes = await enrolled(db, keyring)
    spelled = codes[0].upper().replace("-", " ")
    assert await mfa.verify_second_factor(db, Actor.system(), user, code=spelled, keyring=keyring)
    assert not await mfa.verify_second_factor(
        db, Actor.system(), user, code=codes[0], keyring=keyring
    )
    assert await repository.remaining_recovery_codes(db, user.id) == 9


async def test_regenerate__old_codes_stop_working(db: AsyncSession, keyring: KeyRing) -> None:
    user, secret, old = await enrolled(db, keyring)
    new = await mfa.regenerate_recovery_codes(
        db, Actor.system(), user, code=code_at(secret), keyring=keyring
    )
    assert set(new).isdisjoint(old)
    assert not await mfa.verify_second_factor(
        db, Actor.system(), user, code=old[1], keyring=keyring
    )
    assert await mfa.verify_second_factor(db, Actor.system(), user, code=new[1], keyring=keyring)


async def test_disable__needs_password_and_code(db: AsyncSession, keyring: KeyRing) -> None:
    user, _, codes = await enrolled(db, keyring)
    with pytest.raises(InvalidMfaCode):
        await mfa.disable(
            db, Actor.system(), user, password="wrong password!!", code=codes[0], keyring=keyring
        )
    await mfa.disable(db, Actor.system(), user, password=PASSWORD, code=codes[1], keyring=keyring)
    assert not await mfa.is_enabled(db, user.id)
    assert await repository.remaining_recovery_codes(db, user.id) == 0


async def test_enrollment__already_enabled__conflict(db: AsyncSession, keyring: KeyRing) -> None:
    user, _, _ = await enrolled(db, keyring)
    with pytest.raises(MfaAlreadyEnabled):
        await mfa.start_enrollment(db, Actor.system(), user, keyring=keyring)


async def test_key_rotation__secret_from_old_key__still_verifies(
    db: AsyncSession,
) -> None:
    old_key, new_key = os.urandom(32), os.urandom(32)
    old_ring = KeyRing([old_key])
    user = await new_user(db)
    enrollment = await mfa.start_enrollment(db, Actor.system(), user, keyring=old_ring)
    rotated = KeyRing([new_key, old_key])
    codes = await mfa.confirm_enrollment(
        db, Actor.system(), user, code=code_at(enrollment.secret), keyring=rotated
    )
    assert len(codes) == 10
    factor = await repository.totp_factor(db, user.id)
    assert factor is not None
    with pytest.raises(InvalidCiphertext, match="no longer configured"):
        KeyRing([new_key]).decrypt(factor.secret_encrypted, context=user.id.bytes)


@pytest.mark.parametrize(
    ("mfa_on", "days_as_admin", "must_enroll"),
    [
        (False, 0, False),
        (False, 6.9, False),
        (False, 7, True),
        (False, 30, True),
        (True, 30, False),
    ],
)
def test_admin_must_enroll__after_grace_without_mfa(
    mfa_on: bool, days_as_admin: float, must_enroll: bool
) -> None:
    now = clock.now()
    assert (
        rules.admin_must_enroll(
            mfa_enabled=mfa_on,
            admin_since=now - timedelta(days=days_as_admin),
            now=now,
            grace_days=7,
        )
        is must_enroll
    )


async def test_ensure_admin_may_act__grace_over__enrollment_required(
    db: AsyncSession, keyring: KeyRing
) -> None:
    user = await new_user(db)
    await mfa.ensure_admin_may_act(db, user, admin_since=clock.now(), grace_days=7)
    with pytest.raises(MfaEnrollmentRequired):
        await mfa.ensure_admin_may_act(
            db, user, admin_since=clock.now() - timedelta(days=8), grace_days=7
        )
    await mfa.start_enrollment(db, Actor.system(), user, keyring=keyring)
    with pytest.raises(MfaEnrollmentRequired):  # started but not confirmed
        await mfa.ensure_admin_may_act(
            db, user, admin_since=clock.now() - timedelta(days=8), grace_days=7
        )


async def test_enabled_among__confirmed_pending_and_none__only_confirmed(
    db: AsyncSession, keyring: KeyRing
) -> None:
    # Given a user with MFA confirmed, one who only started enrolling, and one without
    confirmed, _secret, _codes = await enrolled(db, keyring)
    started = await new_user(db, email="started@example.com")
    await mfa.start_enrollment(db, Actor.system(), started, keyring=keyring)
    without = await new_user(db, email="without@example.com")
    # When asked about all three (and about nobody)
    found = await mfa.enabled_among(db, [confirmed.id, started.id, without.id])
    # Then only the confirmed one has MFA on
    assert found == {confirmed.id}
    assert await mfa.enabled_among(db, []) == set()


async def test_pending_enrollment__started_then_confirmed__same_secret_then_none(
    db: AsyncSession, keyring: KeyRing
) -> None:
    # Given a user who has not started, then one who started enrolling
    user = await new_user(db, email="pending@example.com")
    assert await mfa.pending_enrollment(db, user, keyring=keyring) is None
    started = await mfa.start_enrollment(db, Actor.system(), user, keyring=keyring)
    # When the pending enrollment is read back
    pending = await mfa.pending_enrollment(db, user, keyring=keyring)
    # Then it is the one started (same secret, URI and QR code), until it is confirmed
    assert pending == started
    await mfa.confirm_enrollment(
        db, Actor.system(), user, code=code_at(started.secret), keyring=keyring
    )
    assert await mfa.pending_enrollment(db, user, keyring=keyring) is None
