"""The FastAPI side: the ``Idempotency-Key`` header, the guard that claims it, and the route
wrapper that replays or stores the answer.

Order of a guarded request, all in its one transaction (GUIDE §3.1):

1. the guard (after the route's authorization) claims the key: a row in ``idempotency_keys``;
   a repeat finds the row instead and is answered from it (or refused) before the endpoint;
2. the endpoint runs and FastAPI serializes its answer;
3. :func:`finishing` stores that answer on the row, or deletes the row for an error answer;
4. ``DbSession`` commits: the effect, the claim and the answer become visible together.

FastAPI closes function-scoped dependencies (``DbSession``) after the route handler returns,
which is why step 3 can still write in the request's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine, Hashable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import structlog
from fastapi import Header, Request, Response
from fastapi.dependencies.models import Dependant
from sqlalchemy.ext.asyncio import AsyncSession

from keel.kit import clock
from keel.kit.deps import get_resources
from keel.kit.errors import AppError, ValidationFailed
from keel.kit.idempotency import repository, rules
from keel.kit.idempotency.errors import IdempotencyKeyInProgress, IdempotencyKeyReused
from keel.kit.idempotency.models import IdempotencyKey
from keel.kit.security import KeyRing

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
#: Seconds a repeat is told to wait when the first request's answer is not stored yet.
RETRY_AFTER_SECONDS = 1
_FIELD = "header.idempotency-key"
_STATE = "idempotency_claim"

log = structlog.get_logger("kit.idempotency")


def _string_limits(schema: dict[str, Any]) -> None:
    """The key's limits on the string branch of the header's ``anyOf`` (OpenAPI)."""
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "string":
            branch.update(minLength=1, maxLength=rules.KEY_MAX_LENGTH, pattern=rules.KEY_PATTERN)


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        description="Makes this create safe to retry: a repeat with the same key and body "
        "gets the first answer (with `Idempotent-Replayed: true`) and changes nothing; the "
        "same key with another body is 422 `idempotency_key_reused`. 1-255 printable ASCII "
        "characters, e.g. a UUID; keys are per caller and path, and expire after 24 hours "
        "(KEEL_IDEMPOTENCY__TTL_HOURS).",
        json_schema_extra=_string_limits,
    ),
]

#: The guards made with :func:`guard`; :func:`declared` looks for them in a route.
GUARDS: set[Callable[..., Any]] = set()

F = TypeVar("F", bound=Callable[..., Any])
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def guard(dependency: F) -> F:
    """Mark a FastAPI dependency that calls :func:`begin` as an idempotency guard, so that
    :class:`keel.kit.routing.JSONRoute` wraps its routes with :func:`finishing`."""
    GUARDS.add(dependency)
    return dependency


def declared(dependant: Dependant) -> bool:
    """Whether a guard is anywhere in the route's dependency tree."""
    return any(
        (isinstance(sub.call, Hashable) and sub.call in GUARDS) or declared(sub)
        for sub in dependant.dependencies
    )


@dataclass(frozen=True)
class Claim:
    id: uuid.UUID
    scope: str
    session: AsyncSession
    keyring: KeyRing


class Replayed(Exception):
    """Raised by the guard to answer a repeat from storage; :func:`finishing` catches it."""

    def __init__(self, response: Response) -> None:
        super().__init__("idempotent replay")
        self.response = response


async def begin(request: Request, session: AsyncSession, *, caller: str, key: str | None) -> None:
    """Claim ``key`` for ``caller`` on this method and path, or answer a repeat: replay the
    stored answer (raises :class:`Replayed`), or refuse another body or an unanswered claim.
    ``caller`` must be stable across the caller's credentials (a user or API key id)."""
    if key is None:
        return
    if not rules.key_is_valid(key):
        raise ValidationFailed(
            f"{HEADER} must be 1 to {rules.KEY_MAX_LENGTH} printable ASCII characters; "
            "send a fresh UUID, for example.",
            errors=[{"field": _FIELD, "message": "must be 1-255 printable ASCII characters"}],
        )
    settings = get_resources(request).settings
    scope = rules.scope_of(caller=caller, method=request.method, path=request.url.path, key=key)
    fingerprint = rules.fingerprint(await request.body(), query=request.url.query)
    now = clock.now()
    claim_id = await repository.claim(
        session,
        scope=scope,
        fingerprint=fingerprint,
        now=now,
        expires_at=now + timedelta(hours=settings.idempotency.ttl_hours),
    )
    keyring = KeyRing.from_settings(settings)
    if claim_id is not None:
        setattr(request.state, _STATE, Claim(claim_id, scope, session, keyring))
        return
    found = await repository.find(session, scope)
    raise _repeat(found, fingerprint=fingerprint, keyring=keyring)


def _repeat(found: IdempotencyKey | None, *, fingerprint: str, keyring: KeyRing) -> Exception:
    if found is not None and found.fingerprint != fingerprint:
        return IdempotencyKeyReused(
            f"This {HEADER} was already used with another request body; use a new key for a "
            "new request."
        )
    if found is None or found.status_code is None or found.response_body is None:
        return IdempotencyKeyInProgress(
            f"The first request with this {HEADER} has not finished; retry in "
            f"{RETRY_AFTER_SECONDS} second(s) to get its answer.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    body = keyring.decrypt(found.response_body, context=found.scope.encode())
    headers = {**(found.response_headers or {}), REPLAYED_HEADER: "true"}
    log.info("idempotency.replayed", status=found.status_code)
    return Replayed(Response(content=body, status_code=found.status_code, headers=headers))


def finishing(handler: Handler) -> Handler:
    """Wrap a guarded route's handler: answer replays, store a success on its claim, free the
    claim of a failure whose changes are kept (``AppError.keeps_changes``)."""

    async def run(request: Request) -> Response:
        try:
            response = await handler(request)
        except Replayed as replay:
            return replay.response
        except AppError as exc:
            if exc.keeps_changes:
                await _release(request)
            raise
        await _settle(request, response)
        return response

    return run


def _claim_of(request: Request) -> Claim | None:
    claim: Claim | None = getattr(request.state, _STATE, None)
    return claim


async def _settle(request: Request, response: Response) -> None:
    claim = _claim_of(request)
    if claim is None:
        return
    if not rules.is_success(response.status_code):
        await repository.release(claim.session, claim.id)
        return
    body = bytes(getattr(response, "body", b""))
    await repository.answer(
        claim.session,
        claim.id,
        status_code=response.status_code,
        headers=rules.kept_headers(response.headers),
        body=claim.keyring.encrypt(body, context=claim.scope.encode()),
    )


async def _release(request: Request) -> None:
    claim = _claim_of(request)
    if claim is not None:
        await repository.release(claim.session, claim.id)
