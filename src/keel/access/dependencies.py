"""``RequestActor``: the caller of a request before anyone is authenticated — only where the
request came from. Sign-up, login and emailed links act as it; audit entries name it."""

from __future__ import annotations

from typing import Annotated

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


RequestActor = Annotated[Actor, Depends(request_actor)]
