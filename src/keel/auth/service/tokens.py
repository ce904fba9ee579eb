"""Signed tokens: Ed25519 (EdDSA) JWTs for access (``at+jwt``) and the MFA step (``mfa+jwt``),
and the JWK set that lets other services verify them.

Keys come from ``KEEL_AUTH__SIGNING_KEYS`` (PEM, newest first: the first signs, all verify).
Without configured keys (development, test) one key is generated once into
``<data_dir>/keys/jwt-ed25519.pem`` so ``keel serve`` and ``keel worker`` share it. Loaded keys
are cached per process: they derive from settings, which do not change at run time.

Verification is strict on purpose: only ``EdDSA`` is accepted (no ``none``, no HMAC that an
attacker could sign with the public key), the ``kid`` must name a known key, the ``typ`` header
must match the token's use, and every claim the checks depend on is required.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
from cachetools import LRUCache
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from keel.auth import rules
from keel.config import Settings
from keel.kit import clock

ALGORITHM = "EdDSA"
ACCESS_TYP = "at+jwt"
MFA_TYP = "mfa+jwt"
MFA_TOKEN_MINUTES = 5
#: Clock skew tolerated between Keel processes and verifiers.
LEEWAY_SECONDS = 5
KEY_FILE = Path("keys") / "jwt-ed25519.pem"


class InvalidToken(Exception):
    """The token is not one Keel issued for this use, or it is no longer valid."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey
    public: Ed25519PublicKey
    jwk: dict[str, str]


#: Access tokens whose signature and claims were checked, per key set (see
#: :func:`read_access_token`).
VERIFIED_TOKENS = 16_384


@dataclass(frozen=True, slots=True)
class KeySet:
    signing: SigningKey
    by_kid: dict[str, SigningKey]
    verified: LRUCache[tuple[str, str, str], AccessClaims] = field(
        default_factory=lambda: LRUCache(maxsize=VERIFIED_TOKENS), compare=False
    )


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    jti: str
    expires_at: int


def keys(settings: Settings) -> KeySet:
    pems = tuple(key.get_secret_value() for key in settings.auth.signing_keys)
    return _load_keys(pems, str(settings.data_dir))


@lru_cache(maxsize=8)
def _load_keys(pems: tuple[str, ...], data_dir: str) -> KeySet:
    pem_list = list(pems) or [_development_key(Path(data_dir) / KEY_FILE)]
    loaded = [_signing_key(pem) for pem in pem_list]
    return KeySet(signing=loaded[0], by_kid={key.kid: key for key in loaded})


def _development_key(path: Path) -> str:
    """Read the generated key, creating it first if needed. The new key is written to a
    private temporary file and linked into place, so a concurrent process either wins the
    link or reads the complete winner; it never sees a half-written file."""
    if path.exists():
        return path.read_text()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = generate_signing_key()
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(pem)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_text()


def generate_signing_key() -> str:
    """A new Ed25519 private key as PEM (PKCS#8), as KEEL_AUTH__SIGNING_KEYS takes it."""
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def _signing_key(pem: str) -> SigningKey:
    private = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError("KEEL_AUTH__SIGNING_KEYS entries must be Ed25519 private keys (PEM)")
    public = private.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    kid = jwk_thumbprint(raw)
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw), "kid": kid, "use": "sig"}
    return SigningKey(kid=kid, private=private, public=public, jwk={**jwk, "alg": ALGORITHM})


def jwk_thumbprint(raw_public_key: bytes) -> str:
    """RFC 7638: SHA-256 of the required members in lexicographic order, no whitespace."""
    members = {"crv": "Ed25519", "kty": "OKP", "x": _b64(raw_public_key)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return _b64(hashlib.sha256(canonical).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwks(settings: Settings) -> dict[str, list[dict[str, str]]]:
    return {"keys": [key.jwk for key in keys(settings).by_kid.values()]}


def issue_access_token(
    settings: Settings,
    *,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    now: datetime | None = None,
) -> str:
    lifetime = timedelta(minutes=settings.auth.access_token_minutes)
    claims = {"sub": str(user_id), "sid": str(session_id)}
    return _sign(settings, claims, typ=ACCESS_TYP, lifetime=lifetime, now=now)


def read_access_token(settings: Settings, token: str) -> AccessClaims:
    """A token verified once is remembered (per key set, issuer and audience) until it
    expires: the Ed25519 check was a third of an authenticated read's CPU. What the
    signature proved cannot change; only expiry is time-dependent, so it is re-checked on
    every hit. Revocation is the session's business (``sessions.is_live``), not the token's."""
    key_set = keys(settings)
    cache_key = (token, settings.auth.issuer, settings.auth.audience)
    claims = key_set.verified.get(cache_key)
    if claims is None:
        claims = _access_claims(
            _verify(settings, token, typ=ACCESS_TYP, required=rules.ACCESS_CLAIMS)
        )
        key_set.verified[cache_key] = claims
    if claims.expires_at <= time.time() - LEEWAY_SECONDS:
        raise InvalidToken("expired")
    return claims


def _access_claims(payload: dict[str, Any]) -> AccessClaims:
    try:
        return AccessClaims(
            user_id=uuid.UUID(payload["sub"]),
            session_id=uuid.UUID(payload["sid"]),
            jti=str(payload["jti"]),
            expires_at=int(payload["exp"]),
        )
    except (TypeError, ValueError) as exc:
        raise InvalidToken("malformed subject or session") from exc


def issue_mfa_token(settings: Settings, *, user_id: uuid.UUID, now: datetime | None = None) -> str:
    """The proof that the password step passed; only ``POST /auth/mfa/verify`` accepts it."""
    lifetime = timedelta(minutes=MFA_TOKEN_MINUTES)
    return _sign(settings, {"sub": str(user_id)}, typ=MFA_TYP, lifetime=lifetime, now=now)


def read_mfa_token(settings: Settings, token: str) -> tuple[uuid.UUID, str]:
    """The user id and the token's ``jti`` (to count attempts per MFA token)."""
    payload = _verify(settings, token, typ=MFA_TYP, required=rules.MFA_CLAIMS)
    try:
        return uuid.UUID(payload["sub"]), str(payload["jti"])
    except (TypeError, ValueError) as exc:
        raise InvalidToken("malformed subject") from exc


def _sign(
    settings: Settings,
    claims: dict[str, Any],
    *,
    typ: str,
    lifetime: timedelta,
    now: datetime | None,
) -> str:
    issued = now or clock.now()
    key = keys(settings).signing
    payload = {
        **claims,
        "iss": settings.auth.issuer,
        "aud": settings.auth.audience,
        "iat": int(issued.timestamp()),
        "nbf": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(
        payload, key.private, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": typ}
    )


def _verify(
    settings: Settings, token: str, *, typ: str, required: tuple[str, ...]
) -> dict[str, Any]:
    """Verify by hand rather than through ``jwt.decode``: the same checks, a third of the CPU
    (the Ed25519 verification itself dominates what is left). The header is trusted only to
    pick a known key; the signature covers it, and the claims are checked by
    :func:`rules.claims_problem` after the signature holds."""
    header_b64, payload_b64, signature = _split(token)
    header = _json_segment(header_b64)
    key = keys(settings).by_kid.get(str(header.get("kid")))
    if key is None or header.get("alg") != ALGORITHM or header.get("typ") != typ:
        raise InvalidToken("unknown key, algorithm or token type")
    try:
        key.public.verify(_unb64(signature), f"{header_b64}.{payload_b64}".encode())
    except InvalidSignature as exc:
        raise InvalidToken("bad signature") from exc
    payload = _json_segment(payload_b64)
    problem = rules.claims_problem(
        payload,
        required=required,
        issuer=settings.auth.issuer,
        audience=settings.auth.audience,
        now=time.time(),
        leeway=LEEWAY_SECONDS,
    )
    if problem is not None:
        raise InvalidToken(problem)
    return payload


def _split(token: str) -> tuple[str, str, str]:
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise InvalidToken("not a signed JWT")
    return parts[0], parts[1], parts[2]


def _unb64(segment: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (ValueError, TypeError) as exc:
        raise InvalidToken("bad base64url") from exc


def _json_segment(segment: str) -> dict[str, Any]:
    try:
        value = json.loads(_unb64(segment))
    except ValueError as exc:
        raise InvalidToken("bad JSON") from exc
    if not isinstance(value, dict):
        raise InvalidToken("a JWT segment must be a JSON object")
    return value
