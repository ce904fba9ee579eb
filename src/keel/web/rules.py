"""The web session's pure core: the signed cookie, the CSRF token, and which requests get
HTML error pages. No I/O: plain data in, decision out.

The cookie is ``<payload>.<signature>``: base64url JSON signed with HMAC-SHA256 under a key
derived from ``KEEL_SECRET_KEY``. It carries a random nonce (the CSRF token's seed, renewed at
every sign-in and sign-out), and once signed in the auth session's id and its user's id —
a *reference*: whether the session still lives is asked of the auth service on every request,
so a logout or a revocation through the API ends the web session too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

#: Outside development: a ``__Host-`` cookie (Secure, Path=/, no Domain) cannot be set or
#: shadowed by a sibling subdomain. Development serves plain http, where Secure cookies are
#: dropped, so it uses the bare name.
SESSION_COOKIE = "__Host-keel_session"
DEV_SESSION_COOKIE = "keel_session"
#: A one-time message for the page after a redirect ("Project created"), shown as a toast.
NOTICE_COOKIE = "keel_notice"
_NOTICE_LABEL = b"notice:"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_KEY_LABEL = b"keel-web-session-v1"
_CSRF_LABEL = b"csrf:"
#: Paths that keep problem JSON whatever the client accepts: the API and the operational
#: endpoints that machines call.
MACHINE_PREFIXES = ("/api/", "/health", "/ready", "/metrics", "/.well-known/", "/problems/")


@dataclass(frozen=True, slots=True)
class WebSession:
    """What the cookie says. ``fresh`` marks a state made for this request (no valid cookie
    came), which the response must set."""

    nonce: str
    session_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    #: The MFA token of a login that passed the password step and awaits its code.
    mfa_token: str | None = None
    fresh: bool = False

    @property
    def signed_in(self) -> bool:
        return self.session_id is not None and self.user_id is not None


def anonymous() -> WebSession:
    return WebSession(nonce=secrets.token_urlsafe(16), fresh=True)


def signed_in(session_id: uuid.UUID, user_id: uuid.UUID) -> WebSession:
    """A new nonce at sign-in: a CSRF token seen before login is worthless after it."""
    return replace(anonymous(), session_id=session_id, user_id=user_id)


def awaiting_mfa(mfa_token: str) -> WebSession:
    return replace(anonymous(), mfa_token=mfa_token)


def cookie_name(*, development: bool) -> str:
    return DEV_SESSION_COOKIE if development else SESSION_COOKIE


@lru_cache(maxsize=4)
def signing_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()


def encode(state: WebSession, key: bytes) -> str:
    fields: dict[str, str] = {"n": state.nonce}
    if state.session_id is not None and state.user_id is not None:
        fields |= {"s": str(state.session_id), "u": str(state.user_id)}
    if state.mfa_token is not None:
        fields["m"] = state.mfa_token
    payload = _b64(json.dumps(fields, separators=(",", ":")).encode())
    return f"{payload}.{_b64(_sign(key, payload))}"


def decode(value: str | None, key: bytes) -> WebSession | None:
    """The state of a cookie this server signed; None for anything else (absent, altered,
    malformed): the caller then starts an anonymous one."""
    if not value or value.count(".") != 1:
        return None
    payload, signature = value.split(".")
    try:
        if not hmac.compare_digest(_unb64(signature), _sign(key, payload)):
            return None
        return _state(json.loads(_unb64(payload)))
    except (ValueError, binascii.Error, TypeError, KeyError):
        return None


def encode_notice(text: str, key: bytes) -> str:
    """Signed, so another site's cookie (or a sibling subdomain's) cannot put words on a page."""
    payload = _b64(text[:300].encode())
    return f"{payload}.{_b64(_sign(key, _NOTICE_LABEL.decode() + payload))}"


def decode_notice(value: str | None, key: bytes) -> str | None:
    if not value or value.count(".") != 1:
        return None
    payload, signature = value.split(".")
    try:
        if not hmac.compare_digest(_unb64(signature), _sign(key, _NOTICE_LABEL.decode() + payload)):
            return None
        return _unb64(payload).decode()
    except (ValueError, binascii.Error):
        return None


def csrf_token(state: WebSession, key: bytes) -> str:
    return _b64(hmac.new(key, _CSRF_LABEL + state.nonce.encode(), hashlib.sha256).digest())


def csrf_valid(state: WebSession, key: bytes, presented: str | None) -> bool:
    """A fresh state never validates: a token needs the cookie it was derived from."""
    if state.fresh or not presented:
        return False
    return hmac.compare_digest(presented.encode(), csrf_token(state, key).encode())


def wants_html(path: str, accept: str) -> bool:
    """Error answers are pages for people: any path but the machines' ones, unless the
    client asks for JSON explicitly."""
    if path.startswith(MACHINE_PREFIXES) or path in {"/health", "/ready", "/metrics"}:
        return False
    return "json" not in accept.lower()


def field_errors(errors: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """A problem's ``errors`` (``body.password``) as messages per form field (``password``);
    the first message of a field wins."""
    found: dict[str, str] = {}
    for error in errors:
        field = str(error.get("field", "")).removeprefix("body.").split(".")[0] or "form"
        found.setdefault(field, str(error.get("message", "")))
    return found


def price_text(cents: int, currency: str) -> str:
    """``1900, "usd"`` -> ``"$19"``; cents only when there are some."""
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency.lower(), currency.upper() + " ")
    whole, rest = divmod(cents, 100)
    return f"{symbol}{whole:,}" + (f".{rest:02d}" if rest else "")


def plan_lines(features: Mapping[str, Any], label: Callable[[str], str]) -> list[str]:
    """A plan's features as the pricing table reads them: limits first ("10,000 API calls a
    month", "Unlimited projects"), then what the plan includes. ``label`` names a feature
    (the plans domain's wording, shared with its refusals)."""
    limits = [
        _limit_line(value, label(name))
        for name, value in features.items()
        if isinstance(value, int)
        and not isinstance(value, bool)
        and not (name == "audit_retention_days" and not features.get("audit_logs"))
    ]
    switches = [label(name) for name, value in features.items() if value is True]
    texts = [
        f"{label(name)}: {value}"
        for name, value in features.items()
        if isinstance(value, str) and value.lower() != "none"
    ]
    return limits + switches + texts


def upgrade_links(path: str, referer: str | None) -> dict[str, str]:
    """Where the upgrade prompt of a refusal on ``path`` leads: "Upgrade now" to the plan
    page of the organization in the path (``/app/{org_id}/...``), "Maybe later" back to the
    page the form was on when the browser said so (same site only), else to the app."""
    parts = path.split("/")
    org = parts[2] if len(parts) > 2 and parts[1] == "app" and _is_uuid(parts[2]) else None
    return {
        "upgrade": f"/app/{org}/plan#upgrade" if org else "/app",
        "back": _same_site_path(referer) if referer else "/app",
    }


#: The longest ``next`` kept: a return path, not a place to smuggle data.
MAX_NEXT_LENGTH = 2000


def safe_next_path(value: str | None) -> str | None:
    """Where ``?next=`` may send the browser after login or sign-up: a path of this site
    (``/invitations/accept?token=...``), else None. Refused: absolute URLs, scheme-relative
    ``//host``, backslashes (``/\\host`` is another site to a browser) and any whitespace or
    control character (browsers drop tabs and newlines, so ``/<tab>/host`` would become
    ``//host``)."""
    if not value or len(value) > MAX_NEXT_LENGTH or not value.startswith("/"):
        return None
    if value.startswith("//") or "\\" in value:
        return None
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in value):
        return None
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else None


def _same_site_path(referer: str) -> str:
    """The path (and query) of a Referer, which is only ever used as a relative link: the host
    it names is ignored, so it cannot send anyone to another site."""
    parts = urlsplit(referer)
    path = parts.path
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/app"  # "//host" and "/\\host" are another site to a browser
    return path + (f"?{parts.query}" if parts.query else "")


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _limit_line(value: int, noun: str) -> str:
    return f"Unlimited {noun}" if value < 0 else f"{value:,} {noun}"


def _state(fields: dict[str, str]) -> WebSession:
    session_id, user_id = fields.get("s"), fields.get("u")
    return WebSession(
        nonce=fields["n"],
        session_id=uuid.UUID(session_id) if session_id else None,
        user_id=uuid.UUID(user_id) if user_id else None,
        mfa_token=fields.get("m"),
    )


def _sign(key: bytes, payload: str) -> bytes:
    return hmac.new(key, payload.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
