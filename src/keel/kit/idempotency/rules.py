"""Pure rules of idempotency keys: which keys are valid, what identifies a request, which
headers of an answer are replayed."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

KEY_MAX_LENGTH = 255
#: 1-255 printable ASCII characters (space to tilde), as a JSON Schema pattern too.
KEY_PATTERN = f"^[ -~]{{1,{KEY_MAX_LENGTH}}}$"
_KEY = re.compile(KEY_PATTERN)

#: Headers of the first answer that a replay repeats. Per-request headers (request id, rate
#: limits, cookies, content length) are left to the replay's own request.
KEPT_HEADERS = ("content-type", "location", "content-location", "etag")


def key_is_valid(key: str) -> bool:
    return _KEY.fullmatch(key) is not None


def scope_of(*, caller: str, method: str, path: str, key: str) -> str:
    """The key's identity: JSON-encoded so no separator inside a part can make two
    different (caller, method, path, key) collide."""
    encoded = json.dumps([caller, method.upper(), path, key], ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


def fingerprint(body: bytes, *, query: str = "") -> str:
    """The request's content: a JSON body canonically (key order and whitespace do not
    matter, as a client re-serializing a retry may change them), anything else byte for byte;
    the query string counts too."""
    digest = hashlib.sha256(query.encode())
    digest.update(b"\x00")
    digest.update(_canonical(body))
    return digest.hexdigest()


def _canonical(body: bytes) -> bytes:
    try:
        document = json.loads(body)
    except ValueError:
        return body
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: headers[name] for name in KEPT_HEADERS if name in headers}


def is_success(status_code: int) -> bool:
    """Answers below 400 are kept; an error leaves the key free for a retry."""
    return status_code < 400
