"""What the operational surface answers: the readiness report (``GET /ready``) and the
preflight report (``keel doctor``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class CheckResult(BaseModel):
    """One dependency's answer. ``error`` is an exception class name or ``"timed out"``:
    never a message, which could carry a URL with its password."""

    name: str
    status: Literal["ok", "failed", "skipped"]
    latency_ms: float
    error: str | None = None
    #: A failed non-critical check is reported but leaves the service ready.
    critical: bool = True


class ReadinessReport(BaseModel):
    status: Literal["ok", "failed"]
    checks: list[CheckResult]

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class PreflightCheck(BaseModel):
    """One line of ``keel doctor``: ``detail`` says what was found and, on failure, the fix."""

    name: str
    status: Literal["ok", "warn", "fail"]
    detail: str
