"""Brute force: progressive delay, account lock, identical refusals, per-IP 429."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from keel.audit.models import AuditLog
from keel.auth import rules
from keel.auth.service import throttle
from keel.config import Settings
from keel.events.models import EventRecord
from keel.kit import ratelimit, security
from keel.kit.jobs.models import Job
from tests.auth.helpers_tokens import create_user, login
from tests.kit.test_http import assert_problem

WRONG = "definitely not the right password"


@pytest.fixture
def delays(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []

    async def record(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(throttle, "pause", record)
    return waited


@pytest.mark.parametrize(
    ("failures", "delay"),
    [(-1, 0.0), (0, 0.0), (1, 0.0), (2, 0.25), (3, 0.5), (4, 1.0), (5, 2.0), (50, 2.0)],
)
def test_progressive_delay__failures__capped_growth(failures: int, delay: float) -> None:
    assert rules.progressive_delay(failures) == delay


@pytest.mark.parametrize(
    ("failures", "locked", "locks_now"), [(2, False, False), (3, True, True), (4, True, False)]
)
def test_lock__threshold_three__locks_once(failures: int, locked: bool, locks_now: bool) -> None:
    assert rules.is_locked(failures, threshold=3) is locked
    assert rules.locks_now(failures, threshold=3) is locks_now


def test_rate_limit_headers__budget_spent__retry_after_until_window_end() -> None:
    assert ratelimit.window_end(1_000.5, 900) == 1_800
    spent = ratelimit.decision(limit=10, used=10, window_seconds=900, expires_at=1_800, now=1_000.5)
    assert spent.headers == {
        "X-RateLimit-Limit": "10",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "1800",
        "RateLimit-Policy": "10;w=900",
        "RateLimit": "limit=10, remaining=0, reset=800",
        "Retry-After": "800",
    }


def test_account_key__case_variants__one_counter() -> None:
    assert throttle.account_key(" Grace@Example.COM ") == throttle.account_key("grace@example.com")
    assert throttle.account_key("not an email") == throttle.account_key("NOT AN EMAIL")


async def test_login__failures__progressive_delay_before_each_attempt(
    client: httpx.AsyncClient, db: AsyncSession, delays: list[float]
) -> None:
    await create_user(db)
    for _ in range(5):
        await login(client, password=WRONG)
    assert delays == [0.0, 0.0, 0.25, 0.5, 1.0]


async def test_login__threshold_reached__locked_audited_alerted_emailed(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, delays: list[float]
) -> None:
    # Given a user, and failures from many addresses using case variants of the email
    user = await create_user(db)
    for attempt in range(settings.auth.lockout_threshold):
        email = "GRACE@example.com" if attempt % 2 else "grace@EXAMPLE.com"
        response = await login(client, email=email, password=WRONG, ip=f"203.0.113.{attempt}")
        assert_problem(response, 401, "invalid_credentials")
    # When the right password is then given
    response = await login(client, ip="203.0.113.200")
    # Then the account is locked: refused like a wrong password
    assert_problem(response, 401, "invalid_credentials")
    # And the lock is audited once, alerted and mailed to the user
    locked = (
        await db.scalars(select(AuditLog).where(AuditLog.action == "auth.account_locked"))
    ).all()
    assert [entry.target_id for entry in locked] == [str(user.id)]
    alert = (
        await db.scalars(select(EventRecord).where(EventRecord.name == "security.alert"))
    ).one()
    assert alert.payload["kind"] == "account_locked"
    mails = (await db.scalars(select(Job).where(Job.name == "notifications.send_email"))).all()
    assert [(m.payload["to"], m.payload["template"]) for m in mails] == [
        ("grace@example.com", "account_locked")
    ]
    last = (
        await db.scalars(
            select(AuditLog)
            .where(AuditLog.action == "auth.login_failed")
            .order_by(AuditLog.occurred_at.desc())
        )
    ).first()
    assert last is not None and last.context is not None
    assert last.context["reason"] == "account_locked"


async def test_login__locked_wrong_unknown__identical_answers(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, delays: list[float]
) -> None:
    # Given a locked account and an unlocked one
    await create_user(db)
    await create_user(db, email="linus@example.com", name="Linus")
    for attempt in range(settings.auth.lockout_threshold):
        await login(client, password=WRONG, ip=f"203.0.113.{attempt}")
    # When each kind of failure is tried
    answers = [
        await login(client, ip="192.0.2.10"),  # locked, right password
        await login(client, email="linus@example.com", password=WRONG, ip="192.0.2.11"),
        await login(client, email="nobody@example.com", password=WRONG, ip="192.0.2.12"),
    ]
    # Then status and body are the same, byte for byte
    assert {a.status_code for a in answers} == {401}
    assert len({a.content for a in answers}) == 1
    assert len({a.headers["content-type"] for a in answers}) == 1


async def test_login__unknown_email__verifies_a_hash_like_a_known_one(
    client: httpx.AsyncClient,
    db: AsyncSession,
    delays: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The cost of a login is one argon2 verification; an unknown email must pay it too, or
    # the answer's timing would tell which accounts exist.
    await create_user(db)
    verified: list[str] = []
    real_verify = security.verify_password

    async def counting(password_hash: str, password: str) -> bool:
        verified.append(password_hash.split("$")[1])
        return await real_verify(password_hash, password)

    monkeypatch.setattr(security, "verify_password", counting)
    await login(client, email="nobody@example.com", password=WRONG, ip="192.0.2.20")
    await login(client, password=WRONG, ip="192.0.2.21")
    assert verified == ["argon2id", "argon2id"]


async def test_login__ip_over_budget__429_with_rate_limit_headers(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, delays: list[float]
) -> None:
    # Given one address that failed against many accounts
    await create_user(db)
    limit = settings.auth.lockout_threshold
    first = await login(client, email="user0@example.com", password=WRONG, ip="198.51.100.77")
    for n in range(1, limit):
        await login(client, email=f"user{n}@example.com", password=WRONG, ip="198.51.100.77")
    # When it tries again, even with the right password of a real account
    response = await login(client, ip="198.51.100.77")
    # Then it is refused with 429 and the CONTRACT's headers and body
    body = assert_problem(response, 429, "rate_limited")
    assert body["limit"] == limit and body["window"] == settings.auth.lockout_minutes * 60
    assert 0 < int(response.headers["Retry-After"]) <= settings.auth.lockout_minutes * 60
    assert body["retry_after"] == int(response.headers["Retry-After"])
    assert response.headers["X-RateLimit-Limit"] == str(limit)
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) > time.time()
    assert "RateLimit" in response.headers and "RateLimit-Policy" in response.headers
    # And another address still logs in, with its budget shown
    other = await login(client, ip="198.51.100.78")
    assert other.status_code == 200
    assert other.headers["X-RateLimit-Remaining"] == str(limit)
    assert first.status_code == 401


async def test_unlock_link__from_lock_email__lifts_lock_once(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, delays: list[float]
) -> None:
    # Given an account locked by failed logins
    await create_user(db)
    for attempt in range(settings.auth.lockout_threshold):
        await login(client, password=WRONG, ip=f"198.51.100.{attempt}")
    assert_problem(await login(client, ip="198.51.100.200"), 401, "invalid_credentials")
    # When the unlock link from the lock email is followed
    mail = (await db.scalars(select(Job).where(Job.name == "notifications.send_email"))).one()
    unlock_url = mail.payload["context"]["unlock_url"]
    assert unlock_url.startswith(f"{settings.http.public_url}/unlock?token=")
    token = unlock_url.split("token=", 1)[1]
    response = await client.post("/api/v1/auth/unlock", json={"token": token})
    assert response.status_code == 204, response.text
    # Then the right password logs in again, and the link does not work twice
    assert (await login(client, ip="198.51.100.201")).status_code == 200
    again = await client.post("/api/v1/auth/unlock", json={"token": token})
    assert_problem(again, 400, "token_invalid")
    unlocked = await db.scalars(select(AuditLog).where(AuditLog.action == "auth.account_unlocked"))
    assert len(list(unlocked)) == 1
