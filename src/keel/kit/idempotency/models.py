from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from keel.kit import clock
from keel.kit.db import Base, IdMixin


class IdempotencyKey(IdMixin, Base):
    """One claimed key. ``scope`` hashes (caller, method, path, key), so the table needs no
    tenant column and one caller's key can never match another's. ``status_code`` is NULL
    until the answer is stored; the body is encrypted (a create may answer a secret once)."""

    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(64), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    response_headers: Mapped[dict[str, Any] | None]
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(index=True)
