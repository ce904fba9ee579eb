"""TOTP enrollment and recovery codes (``/api/v1/me/mfa/...``), and the second login step
(``POST /api/v1/auth/mfa/verify``)."""

from __future__ import annotations

from fastapi import Response

from keel.access.dependencies import RequestActor
from keel.auth.dependencies import AuthIpLimit, CurrentActor, CurrentUser, EnrollingUser
from keel.auth.schemas import (
    MfaCodeRequest,
    MfaDisableRequest,
    MfaVerifyRequest,
    RecoveryCodesRead,
    TokenPairRead,
    TotpEnrollmentRead,
)
from keel.auth.service import login as login_service
from keel.auth.service import mfa
from keel.kit.deps import AppResources, DbSession
from keel.kit.routing import api_router
from keel.kit.security import KeyRing

router = api_router(tags=["mfa"])


@router.post("/me/mfa/totp", status_code=201, response_model=TotpEnrollmentRead)
async def start_totp(
    user: EnrollingUser, actor: CurrentActor, db: DbSession, resources: AppResources
) -> TotpEnrollmentRead:
    keyring = KeyRing.from_settings(resources.settings)
    enrollment = await mfa.start_enrollment(db, actor, user, keyring=keyring)
    return TotpEnrollmentRead(
        secret=enrollment.secret, otpauth_uri=enrollment.otpauth_uri, qr_svg=enrollment.qr_svg
    )


@router.post("/me/mfa/totp/confirm", response_model=RecoveryCodesRead)
async def confirm_totp(
    body: MfaCodeRequest,
    user: EnrollingUser,
    actor: CurrentActor,
    db: DbSession,
    resources: AppResources,
) -> RecoveryCodesRead:
    keyring = KeyRing.from_settings(resources.settings)
    codes = await mfa.confirm_enrollment(db, actor, user, code=body.code, keyring=keyring)
    return RecoveryCodesRead(recovery_codes=codes)


@router.delete("/me/mfa/totp", status_code=204)
async def disable_totp(
    body: MfaDisableRequest,
    user: CurrentUser,
    actor: CurrentActor,
    db: DbSession,
    resources: AppResources,
) -> Response:
    keyring = KeyRing.from_settings(resources.settings)
    await mfa.disable(db, actor, user, password=body.password, code=body.code, keyring=keyring)
    return Response(status_code=204)


@router.post("/me/mfa/recovery-codes", response_model=RecoveryCodesRead)
async def regenerate_recovery_codes(
    body: MfaCodeRequest,
    user: CurrentUser,
    actor: CurrentActor,
    db: DbSession,
    resources: AppResources,
) -> RecoveryCodesRead:
    keyring = KeyRing.from_settings(resources.settings)
    codes = await mfa.regenerate_recovery_codes(db, actor, user, code=body.code, keyring=keyring)
    return RecoveryCodesRead(recovery_codes=codes)


@router.post("/auth/mfa/verify", response_model=TokenPairRead, dependencies=[AuthIpLimit])
async def verify(
    body: MfaVerifyRequest, actor: RequestActor, db: DbSession, resources: AppResources
) -> TokenPairRead:
    pair = await login_service.verify_mfa(
        db,
        actor,
        mfa_token=body.mfa_token,
        code=body.code,
        cache=resources.cache,
        limiter=resources.limiter,
        settings=resources.settings,
    )
    return TokenPairRead(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )
