"""``RequestActor``: the caller of a request before anyone is authenticated — only where the
request came from. Sign-up, login and emailed links act as it; audit entries name it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from keel.access.schemas import Actor


def request_actor(request: Request) -> Actor:
    return Actor(
        kind="system",
        id="anonymous",
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        request_id=getattr(request.state, "request_id", None),
    )


async def _request_actor(request: Request) -> Actor:
    """Async on purpose: FastAPI runs a plain ``def`` dependency in the thread pool, a thread
    hop per request for no I/O at all (so do the other request-only dependencies)."""
    return request_actor(request)


RequestActor = Annotated[Actor, Depends(_request_actor)]


#: Dependencies that guard a route, with what they require ("authenticated", "member",
#: "documents:write", ...). The architecture test proves every API route depends on one of
#: them or is listed as public.
REQUIREMENTS: dict[Callable[..., Any], str] = {}

F = TypeVar("F", bound=Callable[..., Any])


def requirement(name: str) -> Callable[[F], F]:
    """Mark a FastAPI dependency as an authorization requirement named ``name``."""

    def mark(dependency: F) -> F:
        REQUIREMENTS[dependency] = name
        return dependency

    return mark
