"""Login, refresh and logout (``/api/v1/auth/...``), and the public JWK set
(``/.well-known/jwks.json``, outside ``/api`` where verifiers look for it)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from keel.access.dependencies import RequestActor
from keel.auth.dependencies import AuthIpLimit, CurrentActor
from keel.auth.schemas import (
    LoginRequest,
    MfaRequiredRead,
    RefreshRequest,
    TokenPairRead,
    TokenRequest,
)
from keel.auth.service import login as login_service
from keel.auth.service import tokens as tokens_service
from keel.kit.deps import AppResources, AppSettings, DbSession
from keel.kit.routing import api_router

router = api_router(prefix="/auth", tags=["auth"], dependencies=[AuthIpLimit])
jwks_router = APIRouter(tags=["auth"])


@router.post("/login", response_model=TokenPairRead | MfaRequiredRead)
async def login(
    body: LoginRequest,
    actor: RequestActor,
    response: Response,
    db: DbSession,
    resources: AppResources,
) -> TokenPairRead | MfaRequiredRead:
    result, headers = await login_service.login(
        db,
        actor,
        email=body.email,
        password=body.password,
        cache=resources.cache,
        limiter=resources.limiter,
        settings=resources.settings,
    )
    response.headers.update(headers)
    if isinstance(result, login_service.MfaChallenge):
        return MfaRequiredRead(mfa_token=result.mfa_token)
    return _pair(result)


@router.post("/refresh", response_model=TokenPairRead)
async def refresh(
    body: RefreshRequest, actor: RequestActor, db: DbSession, resources: AppResources
) -> TokenPairRead:
    pair = await login_service.refresh(
        db,
        actor,
        body.refresh_token,
        cache=resources.cache,
        settings=resources.settings,
    )
    return _pair(pair)


@router.post("/unlock", status_code=204)
async def unlock(
    body: TokenRequest, actor: RequestActor, db: DbSession, resources: AppResources
) -> Response:
    await login_service.unlock(db, actor, token=body.token, cache=resources.cache)
    return Response(status_code=204)


@router.post("/logout", status_code=204)
async def logout(actor: CurrentActor, db: DbSession, resources: AppResources) -> Response:
    await login_service.logout(db, actor, cache=resources.cache)
    return Response(status_code=204)


@jwks_router.get("/.well-known/jwks.json")
async def jwks(settings: AppSettings) -> dict[str, list[dict[str, str]]]:
    return tokens_service.jwks(settings)


def _pair(pair: login_service.TokenPair) -> TokenPairRead:
    return TokenPairRead(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
    )
