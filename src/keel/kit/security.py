"""Domain-free cryptography: password hashing, opaque tokens and encryption at rest.

* Passwords: argon2id (argon2-cffi) with OWASP's recommended parameters (19 MiB, t=2, p=1).
  Hashing is CPU-bound on purpose, so it runs in a worker thread, never on the event loop.
* Opaque tokens (refresh tokens, email links, recovery codes): 256 random bits, stored only as
  SHA-256. A fast hash is enough for high-entropy secrets; an attacker with the table still
  has to guess 2^256 values.
* Encryption at rest (TOTP secrets): AES-256-GCM with a key ring, newest key first; each
  ciphertext carries the id of its key so old keys keep decrypting after a rotation.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from keel.config import Settings

_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    """Constant-time per hash; False for a wrong password or an unreadable hash."""
    try:
        return await asyncio.to_thread(_HASHER.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than today's (rehash on login)."""
    return _HASHER.check_needs_rehash(password_hash)


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class InvalidCiphertext(Exception):
    """The data was not encrypted by any key in the ring, or was altered."""


class KeyRing:
    """AES-256-GCM with rotation. Ciphertext layout: key id (8 bytes) | nonce (12) | data."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys or any(len(k) != 32 for k in keys):
            raise ValueError("KeyRing needs one or more 32-byte keys")
        self._keys = {_key_id(k): AESGCM(k) for k in keys}
        self._current = _key_id(keys[0])

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        configured = [base64.b64decode(k.get_secret_value()) for k in settings.auth.encryption_keys]
        return cls(configured or [_derive(settings.secret_key.get_secret_value())])

    def encrypt(self, plaintext: bytes, *, context: bytes = b"") -> bytes:
        nonce = os.urandom(12)
        sealed = self._keys[self._current].encrypt(nonce, plaintext, context)
        return self._current + nonce + sealed

    def decrypt(self, ciphertext: bytes, *, context: bytes = b"") -> bytes:
        key = self._keys.get(ciphertext[:8])
        if key is None:
            raise InvalidCiphertext("encrypted with a key that is no longer configured")
        try:
            return key.decrypt(ciphertext[8:20], ciphertext[20:], context)
        except Exception as exc:
            raise InvalidCiphertext("ciphertext altered or wrong context") from exc


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"keel-key-id" + key).digest()[:8]


def _derive(secret: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"keel-at-rest-v1")
    return hkdf.derive(secret.encode())
