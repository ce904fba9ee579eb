from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class CheckResult(BaseModel):
    name: str
    status: Literal["ok", "failed", "skipped"]
    latency_ms: float
    error: str | None = None


class ReadinessReport(BaseModel):
    status: Literal["ok", "failed"]
    checks: list[CheckResult]

    @property
    def ok(self) -> bool:
        return self.status == "ok"
