"""Access and MFA JWTs: signing, strict verification, key rotation, JWKS, and the attacks
that must all end in 401."""

from __future__ import annotations

import base64
import stat
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from keel.auth.service import tokens
from keel.config import Settings
from keel.kit import clock
from tests.auth.helpers_tokens import (
    bearer,
    create_user,
    forge,
    logged_in,
    new_pem,
    segments,
    with_auth,
)
from tests.kit.test_http import assert_problem

USER, SESSION = uuid.uuid4(), uuid.uuid4()


def access(settings: Settings, **kwargs: Any) -> str:
    return tokens.issue_access_token(settings, user_id=USER, session_id=SESSION, **kwargs)


def test_read_access_token__fresh_token__gives_its_claims(settings: Settings) -> None:
    # Given a token just issued
    token = access(settings)
    # When read
    claims = tokens.read_access_token(settings, token)
    # Then the subject and session come back, and the header says what it is
    assert (claims.user_id, claims.session_id) == (USER, SESSION)
    header, payload, _ = segments(token)
    assert header == {"alg": "EdDSA", "kid": tokens.keys(settings).signing.kid, "typ": "at+jwt"}
    assert set(payload) == {"iss", "aud", "sub", "sid", "iat", "nbf", "exp", "jti"}
    assert payload["exp"] - payload["iat"] == settings.auth.access_token_minutes * 60


def test_jwk_thumbprint__rfc8037_example__matches() -> None:
    # RFC 8037 appendix A.3: the thumbprint of its example Ed25519 key
    raw = base64.urlsafe_b64decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
    assert tokens.jwk_thumbprint(raw) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_keys__none_configured__generated_once_in_data_dir_private(
    settings: Settings, tmp_path: Path
) -> None:
    # Given settings without configured keys and an empty data directory
    settings = with_auth(settings, signing_keys=[]).model_copy(update={"data_dir": tmp_path})
    first = tokens.keys(settings)
    # Then the key lives in <data_dir>/keys, readable by the owner only, and is reused
    path = settings.data_dir / tokens.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    tokens._load_keys.cache_clear()
    assert tokens.keys(settings).signing.kid == first.signing.kid


def test_keys__rotation__newest_signs_and_older_still_verifies(settings: Settings) -> None:
    # Given a token signed when only the old key was configured
    old, new = new_pem(), new_pem()
    before = with_auth(settings, signing_keys=[old])
    token = access(before)
    # When the new key is put first
    after = with_auth(settings, signing_keys=[new, old])
    # Then the old token still verifies and new tokens are signed by the new key
    assert tokens.read_access_token(after, token).user_id == USER
    assert segments(access(after))[0]["kid"] == tokens.keys(after).signing.kid
    assert tokens.keys(after).signing.kid != segments(token)[0]["kid"]


def test_keys__not_ed25519__refused(settings: Settings) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with pytest.raises(ValueError, match="Ed25519"):
        tokens.keys(with_auth(settings, signing_keys=[pem]))


def test_read_mfa_token__round_trip__gives_user(settings: Settings) -> None:
    token = tokens.issue_mfa_token(settings, user_id=USER)
    user_id, jti = tokens.read_mfa_token(settings, token)
    assert user_id == USER and jti
    # An access token is not an MFA token either
    with pytest.raises(tokens.InvalidToken):
        tokens.read_mfa_token(settings, access(settings))


def _public_pem(settings: Settings) -> bytes:
    return tokens.keys(settings).signing.public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _valid_parts(settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = segments(access(settings))
    return header, payload


def _alg_none(settings: Settings) -> str:
    header, payload = _valid_parts(settings)
    return forge({**header, "alg": "none"}, payload, hmac_key=None)


def _hs256_with_public_key(settings: Settings) -> str:
    header, payload = _valid_parts(settings)
    return forge({**header, "alg": "HS256"}, payload, hmac_key=_public_pem(settings))


def _expired(settings: Settings) -> str:
    return access(settings, now=clock.now() - timedelta(minutes=16))


def _future_nbf(settings: Settings) -> str:
    return access(settings, now=clock.now() + timedelta(minutes=5))


def _wrong_audience(settings: Settings) -> str:
    return access(with_auth(settings, audience="another-api"))


def _wrong_issuer(settings: Settings) -> str:
    return access(with_auth(settings, issuer="https://evil.example"))


def _refresh_token_shape(_settings: Settings) -> str:
    from keel.kit import security

    return security.new_token()


def _mfa_token(settings: Settings) -> str:
    return tokens.issue_mfa_token(settings, user_id=USER)


def _tampered(settings: Settings) -> str:
    token = access(settings)
    header, _payload, signature = token.split(".")
    _, claims, _ = segments(token)
    forged = forge({}, {**claims, "sub": str(uuid.uuid4())}, hmac_key=None).split(".")[1]
    return f"{header}.{forged}.{signature}"


def _unknown_kid(settings: Settings) -> str:
    return access(with_auth(settings, signing_keys=[new_pem()]))


def _typ_missing(settings: Settings) -> str:
    header, payload, _ = segments(access(settings))
    del header["typ"]
    import jwt

    key = tokens.keys(settings).signing
    return jwt.encode(
        payload, key.private, algorithm="EdDSA", headers={"kid": key.kid, "typ": None}
    )


ATTACKS: dict[str, Callable[[Settings], str]] = {
    "alg_none": _alg_none,
    "hs256_signed_with_public_key": _hs256_with_public_key,
    "expired": _expired,
    "future_nbf": _future_nbf,
    "wrong_audience": _wrong_audience,
    "wrong_issuer": _wrong_issuer,
    "refresh_token_as_access": _refresh_token_shape,
    "mfa_token_as_access": _mfa_token,
    "tampered_payload": _tampered,
    "unknown_kid": _unknown_kid,
    "no_typ": _typ_missing,
    "garbage": lambda _s: "not.a.jwt",
}


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_read_access_token__attack__refused(
    settings: Settings, attack: Callable[[Settings], str]
) -> None:
    with pytest.raises(tokens.InvalidToken):
        tokens.read_access_token(settings, attack(settings))


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
async def test_get_me__attack_token__401_with_bearer_challenge(
    client: httpx.AsyncClient, settings: Settings, attack: Callable[[Settings], str]
) -> None:
    # When a forged or misused token is presented
    response = await client.get("/api/v1/me", headers=bearer(attack(settings)))
    # Then it is refused like a missing one
    assert_problem(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_get_me__refresh_token_of_a_real_session__401(
    client: httpx.AsyncClient, db: Any
) -> None:
    await create_user(db)
    pair = await logged_in(client)
    response = await client.get("/api/v1/me", headers=bearer(pair["refresh_token"]))
    assert_problem(response, 401, "not_authenticated")


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer", "Bearer ", "Basic Zm9vOmJhcg==", "Token abc"]
)
async def test_get_me__no_usable_authorization__401(
    client: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.get("/api/v1/me", headers=headers)
    assert_problem(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_jwks__published__every_public_key_and_nothing_private(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    # When the JWK set is fetched
    response = await client.get("/.well-known/jwks.json")
    # Then it lists the signing key as an Ed25519 verification key, without the private part
    assert response.status_code == 200
    (key,) = response.json()["keys"]
    assert key == {
        "kty": "OKP",
        "crv": "Ed25519",
        "alg": "EdDSA",
        "use": "sig",
        "kid": tokens.keys(settings).signing.kid,
        "x": key["x"],
    }
