"""The authenticated read path on PostgreSQL + Redis, as production runs it (issue 4).

    uv run python -m bench.read_path [--duration 10] [--connections 64,1000] [--reseed]
                                     [--scenarios health,org,document,page] [--drop]

Needs PostgreSQL (``KEEL_BENCH_PG_URL``, default the local superuser ``postgres``), Redis
(``KEEL_BENCH_REDIS_URL``, default db 11 of the local server, keys under ``keel_bench:``) and
``wrk``. It:

* creates the database ``keel_bench_read`` and the login role ``keel_bench_runtime``
  (NOSUPERUSER NOBYPASSRLS), migrates as the owner (which grants the runtime role DML), then
  seeds 1,000 organizations (one member each), 5 projects per organization and 1,000,000
  documents with asyncpg COPY; the seeded database is reused by the next run (``--reseed`` to
  rebuild it, ``--drop`` to remove database and role at the end);
* starts ``keel serve --workers 2`` with ``KEEL_ENV=production`` on the runtime role, so
  forced row-level security is on, and Redis as cache;
* mints one access token per user (an auth session row each, signed with the server's key)
  and runs wrk on 127.0.0.1, rotating over (token, org, project, document) tuples, at each
  connection count: ``GET /health`` (no auth, no query: the baseline), ``GET /orgs/{org}``
  (auth + tenancy only), one document, and a page of 20 documents.

Each scenario runs first "cold" (64 connections, the first time its targets are asked, so
what is cached per document or page is not yet there), then, after a warm-up that asks every
target about four times (``--warm-passes``), at each connection count: the steady state a server
serving these users reaches. Both are printed; the goal is judged on the steady state.

It prints req/s, p50/p99 and errors per scenario with the ratio to /health at the same
connection count. Goal: >= 50 % of the baseline at 64 connections with p99 <= 25 ms, and no
error nor stall at 1,000. wrk, the two workers and PostgreSQL share this machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import make_url

from bench.http_latency import free_port, wait_healthy
from keel.auth.service import tokens
from keel.config import Settings

DB_NAME = "keel_bench_read"
RUNTIME_ROLE = "keel_bench_runtime"
REDIS_PREFIX = "keel_bench:"
PROJECTS_PER_ORG = 5
SECRET = "bench-read-path-secret-key-0123456789abcdef0123"  # noqa: S105 - a throwaway bench key

_VOCABULARY = """
quarterly report roadmap budget design review onboarding security audit incident postmortem
release notes customer feedback pricing migration backlog sprint hiring plan architecture
proposal api latency database index cache invoice contract renewal launch metrics dashboard
retention churn forecast compliance policy vendor support escalation
"""
WORDS = tuple(_VOCABULARY.split())
ORG_COLUMNS = ("id", "name", "slug", "plan", "settings", "status", "access_version")
USER_COLUMNS = ("id", "email", "name", "email_verified_at", "status", "is_superadmin")
STAMPS = ("created_at", "updated_at")

LUA = """
local rows = {}
local n = 0
local i = 0
function init(args)
  for line in io.lines(args[1]) do
    local token, path = line:match("^(%S+) (%S+)$")
    n = n + 1
    rows[n] = {path, token}
  end
  i = math.random(n)
end
function request()
  i = i % n + 1
  local row = rows[i]
  if row[2] == "-" then return wrk.format("GET", row[1]) end
  return wrk.format("GET", row[1], {["Authorization"] = "Bearer " .. row[2]})
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT %d %d %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read + e.write, e.status, e.timeout))
end
"""


@dataclass(frozen=True)
class Seeded:
    """What a request needs: the user's session, the organization and one document."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    org_id: uuid.UUID
    project_id: uuid.UUID
    document_id: uuid.UUID


@dataclass(frozen=True)
class Figures:
    scenario: str
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: str
    error_count: int
    app_cpu_ms: float
    db_cpu_ms: float


# ---- database and role -------------------------------------------------------------------------


def urls() -> tuple[str, str, str]:
    """(admin, owner, runtime) SQLAlchemy URLs."""
    admin = os.environ.get(
        "KEEL_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    owner = make_url(admin).set(database=DB_NAME)
    runtime = owner.set(username=RUNTIME_ROLE, password=None)
    return (
        admin,
        owner.render_as_string(hide_password=False),
        runtime.render_as_string(hide_password=False),
    )


def dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def prepare_database(admin: str, reseed: bool) -> bool:
    """Create role and database when missing; True when the database was (re)created."""
    conn = await asyncpg.connect(dsn(admin))
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", RUNTIME_ROLE):
            await conn.execute(
                f'CREATE ROLE "{RUNTIME_ROLE}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB'
            )
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DB_NAME)
        if exists and not reseed:
            return False
        if exists:
            await conn.execute(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{DB_NAME}"')
        return True
    finally:
        await conn.close()


async def drop_database(admin: str) -> None:
    conn = await asyncpg.connect(dsn(admin))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        await conn.execute(f'DROP ROLE IF EXISTS "{RUNTIME_ROLE}"')
    finally:
        await conn.close()


def migrate(settings: Settings) -> None:
    from keel.cli.migrate import upgrade_to_head

    upgrade_to_head(settings)


# ---- seeding -------------------------------------------------------------------------------------


def _title(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7))).capitalize()


def _body(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 30))) + "."


async def seed(owner: str, orgs: int, documents: int) -> float:
    """Write the rows with COPY as the owner (a superuser here, so RLS does not apply); the
    documents' indexes are dropped during the copy and rebuilt after, from their own DDL."""
    started = time.perf_counter()
    rng = random.Random(4)  # noqa: S311 - reproducible data, not a secret
    now = datetime.now(UTC)
    conn = await asyncpg.connect(dsn(owner))
    try:
        await conn.execute("SET session_replication_role = replica")  # no FK triggers
        await conn.execute("SET maintenance_work_mem = '256MB'")
        org_rows, user_rows, member_rows, session_rows, project_rows = [], [], [], [], []
        projects: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]] = []
        for n in range(orgs):
            org_id, user_id = uuid.uuid4(), uuid.uuid4()
            org_rows.append(
                (org_id, f"Org {n}", f"bench-org-{n}", "free", "{}", "active", 1, now, now)
            )
            user_rows.append(
                (
                    user_id,
                    f"bench-{n}@example.com",
                    f"User {n}",
                    now,
                    "active",
                    False,
                    "{}",
                    now,
                    now,
                )
            )
            member_rows.append((uuid.uuid4(), org_id, user_id, "member", now, now))
            session_rows.append(
                (uuid.uuid4(), user_id, now, now, now + timedelta(days=365), "127.0.0.1")
            )
            for p in range(PROJECTS_PER_ORG):
                project_id = uuid.uuid4()
                project_rows.append((project_id, org_id, f"Project {p}", user_id, now, now))
                projects.append((org_id, project_id, user_id))
        copies = {
            "organizations": (
                (*ORG_COLUMNS, *STAMPS),
                org_rows,
            ),
            "users": (
                (*USER_COLUMNS, "attributes", *STAMPS),
                user_rows,
            ),
            "memberships": (
                ("id", "organization_id", "user_id", "role", "joined_at", "updated_at"),
                member_rows,
            ),
            "auth_sessions": (
                ("id", "user_id", "created_at", "last_seen_at", "expires_at", "ip"),
                session_rows,
            ),
            "projects": (
                ("id", "organization_id", "name", "owner_id", "created_at", "updated_at"),
                project_rows,
            ),
        }
        for table, (columns, rows) in copies.items():
            await conn.copy_records_to_table(table, records=rows, columns=columns)
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'documents' "
            "AND indexname <> 'pk_documents'"
        )
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["indexname"]}"')
        per_project = max(1, documents // len(projects))
        columns = (
            "id", "organization_id", "project_id", "title", "body", "classification",
            "owner_id", "tags", "shared_with", "attributes", "created_at", "updated_at",
        )  # fmt: skip
        classes = ("public", "internal", "internal")
        titles = [_title(rng) for _ in range(2048)]
        bodies = [_body(rng) for _ in range(2048)]
        batch: list[tuple[Any, ...]] = []
        for org_id, project_id, user_id in projects:
            for d in range(per_project):
                batch.append(
                    (
                        uuid.uuid4(), org_id, project_id, titles[rng.randrange(2048)],
                        bodies[rng.randrange(2048)], classes[d % 3], user_id, '["bench"]',
                        "[]", "{}", now, now,
                    )
                )  # fmt: skip
            if len(batch) >= 50_000:
                await conn.copy_records_to_table("documents", records=batch, columns=columns)
                batch = []
        if batch:
            await conn.copy_records_to_table("documents", records=batch, columns=columns)
        for index in indexes:
            await conn.execute(index["indexdef"])
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def lift_plan_limits(owner: str) -> None:
    """The bench's organizations are on ``free``; in this database only, free gets an API rate
    limit and a monthly quota that the load never reaches, so every request still pays for
    the limiter's decision (a Redis round trip) and the quota check, but none is refused."""
    conn = await asyncpg.connect(dsn(owner))
    try:
        await conn.execute(
            "UPDATE plans SET rate_limits = jsonb_set(rate_limits, '{api}', "
            '\'{"limit": 1000000000, "window_seconds": 60}\'), '
            "features = jsonb_set(features, '{max_api_calls_per_month}', '1000000000000') "
            "WHERE key = 'free'"
        )
    finally:
        await conn.close()


async def seeded_counts(owner: str) -> tuple[int, int]:
    conn = await asyncpg.connect(dsn(owner))
    try:
        orgs = await conn.fetchval("SELECT count(*) FROM organizations")
        docs = await conn.fetchval(
            "SELECT reltuples::bigint FROM pg_class WHERE relname = 'documents'"
        )
        return int(orgs), int(docs)
    finally:
        await conn.close()


async def load_tuples(owner: str, per_user: int) -> list[Seeded]:
    """``per_user`` documents of each user's organization, and the user's session."""
    conn = await asyncpg.connect(dsn(owner))
    try:
        rows = await conn.fetch(
            """
            SELECT m.user_id, s.id AS session_id, m.organization_id, d.project_id, d.id
            FROM memberships m
            JOIN auth_sessions s ON s.user_id = m.user_id
            CROSS JOIN LATERAL (
                SELECT project_id, id FROM documents
                WHERE organization_id = m.organization_id
                ORDER BY project_id, id LIMIT $1
            ) d
            """,
            per_user,
        )
    finally:
        await conn.close()
    return [Seeded(*row) for row in rows]


# ---- server and load -----------------------------------------------------------------------------


def signing_key() -> str:
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def server_env(runtime: str, owner: str, key: str, redis_url: str, data_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        "KEEL_ENV": "production",
        "KEEL_SECRET_KEY": SECRET,
        "KEEL_DATA_DIR": data_dir,
        "KEEL_DATABASE__URL": runtime,
        "KEEL_DATABASE__MIGRATION_URL": owner,
        "KEEL_REDIS__URL": redis_url,
        "KEEL_REDIS__PREFIX": REDIS_PREFIX,
        "KEEL_AUTH__SIGNING_KEYS": json.dumps([key]),
        "KEEL_AUTH__ACCESS_TOKEN_MINUTES": "60",
        "KEEL_JOBS__EMBEDDED": "false",
        "KEEL_LOG__LEVEL": "WARNING",
    }


def start_server(
    port: int, env: dict[str, str], workers: int, log: Path, *, pre_ping: bool = False
) -> subprocess.Popen[bytes]:
    """``keel serve``; with ``pre_ping`` the same uvicorn settings on the old engine (A/B)."""
    keel = os.path.join(os.path.dirname(sys.executable), "keel")
    command = [keel, "serve", "--port", str(port), "--workers", str(workers)]
    if pre_ping:
        command = [sys.executable, "-m", "uvicorn", "--factory", "--port", str(port)]
        command += ["--workers", str(workers), "--no-server-header", "--no-proxy-headers"]
        command += ["--no-access-log", "bench.read_path_profile:create_app_with_pre_ping"]
    return subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),  # a file, not a pipe nobody reads: a full pipe stalls the server
    )


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def cpu_seconds(server_pid: int) -> tuple[float, float]:
    """CPU used so far by the server's worker processes and by the PostgreSQL backends of the
    runtime role: a per-request cost that the other load on this machine does not skew."""
    app = db = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        if ppid == server_pid or int(entry.name) == server_pid:
            app += _cpu_ticks(int(entry.name))
        elif f" {RUNTIME_ROLE} {DB_NAME} ".encode() in cmdline[:200]:
            db += _cpu_ticks(int(entry.name))
    return app / _TICK, db / _TICK


def write_targets(path: Path, rows: list[tuple[str, str]]) -> None:
    path.write_text("".join(f"{token} {url}\n" for token, url in rows))


def run_wrk(
    base: str, script: Path, targets: Path, *, connections: int, duration: float, timeout: float
) -> tuple[float, float, float, float, dict[str, int]]:
    threads = min(2, connections)
    out = subprocess.run(
        [
            *("wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s"),
            *(f"--timeout={timeout:g}s", "-s", str(script), base, "--", str(targets)),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    requests, micros, p50, p99, worst, connect, rw, status, timeouts = map(int, line.split()[1:])
    errors = {"connect": connect, "read/write": rw, "non-2xx": status, "timeout": timeouts}
    return requests / (micros / 1e6), p50 / 1000, p99 / 1000, worst / 1000, errors


async def clean_redis(url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=REDIS_PREFIX + "*", count=1000)]
        for start in range(0, len(keys), 1000):
            await client.delete(*keys[start : start + 1000])
    finally:
        await client.aclose()


def main() -> None:  # noqa: PLR0915 - one linear script, like the other benches
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--connections", default="64,1000")
    parser.add_argument("--scenarios", default="health,org,document,page")
    parser.add_argument("--orgs", type=int, default=1_000)
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--docs-per-user", type=int, default=20, help="distinct documents asked")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=2.0, help="wrk's per-request timeout")
    parser.add_argument(
        "--warm-passes",
        type=float,
        default=4.0,
        help="warm-up until each target was asked this often on average",
    )
    parser.add_argument("--warm-max", type=float, default=180.0, help="cap on warm-up seconds")
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--drop", action="store_true", help="drop the database and role at the end")
    parser.add_argument(
        "--pre-ping", action="store_true", help="A/B: the engine with pool_pre_ping"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed (Debian package wrk)")
    admin, owner, runtime = urls()
    redis_url = os.environ.get("KEEL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
    key = signing_key()

    created = asyncio.run(prepare_database(admin, args.reseed))
    with tempfile.TemporaryDirectory() as tmp:
        env = server_env(runtime, owner, key, redis_url, tmp)
        settings = Settings(
            env="production",
            secret_key=SECRET,
            data_dir=Path(tmp),
            database={"url": runtime, "migration_url": owner},
            auth={"signing_keys": [key], "access_token_minutes": 60},
        )
        migrate(settings)  # also brings a database seeded by an older Keel up to date
        asyncio.run(lift_plan_limits(owner))
        if created:
            seconds = asyncio.run(seed(owner, args.orgs, args.documents))
            print(f"seeded {args.orgs} orgs and {args.documents:,} documents in {seconds:.1f} s")
        orgs, docs = asyncio.run(seeded_counts(owner))
        print(f"database {DB_NAME}: {orgs} organizations, ~{docs:,} documents")
        tuples = asyncio.run(load_tuples(owner, args.docs_per_user))
        token_of = {
            t.user_id: tokens.issue_access_token(
                settings, user_id=t.user_id, session_id=t.session_id
            )
            for t in tuples
        }
        rng = random.Random(9)  # noqa: S311 - a reproducible load order, not a secret
        rng.shuffle(tuples)
        api = "/api/v1/orgs"
        paths = {
            "health": [("-", "/health")],
            "org": [(token_of[t.user_id], f"{api}/{t.org_id}") for t in tuples],
            "document": [
                (
                    token_of[t.user_id],
                    f"{api}/{t.org_id}/projects/{t.project_id}/documents/{t.document_id}",
                )
                for t in tuples
            ],
            "page": [
                (
                    token_of[t.user_id],
                    f"{api}/{t.org_id}/projects/{t.project_id}/documents?limit=20",
                )
                for t in tuples
            ],
        }
        script = Path(tmp) / "rotate.lua"
        script.write_text(LUA)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        asyncio.run(clean_redis(redis_url))
        server_log = Path(tmp) / "server.log"
        server = start_server(port, env, args.workers, server_log, pre_ping=args.pre_ping)
        results: list[Figures] = []
        try:
            asyncio.run(wait_healthy(base, within=60))
            scenarios = args.scenarios.split(",")
            for name in scenarios:
                targets = Path(tmp) / f"{name}.txt"
                write_targets(targets, paths[name])
                bearer, first = paths[name][0]
                auth = [] if bearer == "-" else ["-H", f"Authorization: Bearer {bearer}"]
                check = subprocess.run(
                    ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", *auth, base + first],
                    capture_output=True,
                    text=True,
                    check=False,
                ).stdout
                if check != "200":
                    print(f"{name}: first request answered {check}; skipped")
                    continue
                results += measure(name, base, script, targets, len(paths[name]), server, args)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            report_server_errors(server_log)
            asyncio.run(clean_redis(redis_url))
            if args.drop:
                asyncio.run(drop_database(admin))
    print_table(results)


def measure(  # noqa: PLR0917 - the bench's knobs, passed through
    name: str,
    base: str,
    script: Path,
    targets: Path,
    distinct: int,
    server: subprocess.Popen[bytes],
    args: argparse.Namespace,
) -> list[Figures]:
    """A cold pass first (64 connections, the scenario's targets never asked before:
    reported, marked "cold"), then a warm-up until every target was asked ``--warm-passes``
    times on average (so each worker has seen it), then the measured runs."""

    def run(connections: int, duration: float, label: str) -> Figures:
        app0, db0 = cpu_seconds(server.pid)
        rps, p50, p99, worst, errors = run_wrk(
            base, script, targets, connections=connections, duration=duration, timeout=args.timeout
        )
        app1, db1 = cpu_seconds(server.pid)
        done = max(1.0, rps * duration)
        shown = " ".join(f"{k}={v}" for k, v in errors.items() if v) or "0"
        figures = Figures(
            label, connections, rps, p50, p99, worst, shown, sum(errors.values()),
            (app1 - app0) / done * 1e3, (db1 - db0) / done * 1e3,
        )  # fmt: skip
        print(f"  {figures}", flush=True)
        return figures

    cold = run(64, args.duration, f"{name} cold" if name != "health" else name)
    results = [cold] if name != "health" else []
    asked, spent = cold.rps * args.duration, 0.0
    while asked < args.warm_passes * distinct and spent < args.warm_max:
        chunk = min(15.0, args.warm_max - spent)
        rps, *_ = run_wrk(
            base, script, targets, connections=64, duration=chunk, timeout=args.timeout
        )
        asked, spent = asked + rps * chunk, spent + chunk
    if spent:
        print(f"  warm-up: {spent:.0f} s, ~{asked / distinct:.1f} requests per target", flush=True)
    for connections in [int(c) for c in args.connections.split(",")]:
        results.append(run(connections, args.duration, name))
    return results


def report_server_errors(log: Path) -> None:
    """What the server logged, grouped by the last line of each error (the exception)."""
    seen: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            entry = {"event": line}
        error = str(entry.get("exception") or entry.get("event") or line).strip()
        key = error.splitlines()[-1][:200] if error else line[:200]
        seen[key] = seen.get(key, 0) + 1
    for key, count in sorted(seen.items(), key=lambda item: -item[1])[:5]:
        print(f"server logged {count}x: {key}")


def db_cpu(f: Figures) -> str:
    """Only the backends alive at both samples are counted: one that exited in between (an
    overflow connection closed) takes its CPU along, so the figure is a lower bound, or n/a."""
    return f"{f.db_cpu_ms:.2f}" if f.db_cpu_ms >= 0 else "n/a"


def print_table(results: list[Figures]) -> None:
    baseline = {f.connections: f.rps for f in results if f.scenario == "health"}
    print(
        f"\n{'scenario':<14} {'conns':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
        f" {'vs /health':>10} {'app CPU ms/req':>14} {'db CPU ms/req':>13}  errors"
    )
    for f in results:
        ratio = f"{f.rps / baseline[f.connections]:.0%}" if f.connections in baseline else "-"
        print(
            f"{f.scenario:<14} {f.connections:>6} {f.rps:>8.0f} {f.p50_ms:>8.1f} {f.p99_ms:>8.1f}"
            f" {f.max_ms:>8.0f} {ratio:>10} {f.app_cpu_ms:>14.2f} {db_cpu(f):>13}  {f.errors}"
        )
    goal = [
        f
        for f in results
        if f.scenario in ("document", "page") and f.connections == 64 and f.connections in baseline
    ]
    for f in goal:
        met = f.rps >= 0.5 * baseline[64] and f.p99_ms <= 25
        print(f"goal at 64 connections, {f.scenario}: {'met' if met else 'MISSED'}")
    for f in results:
        if f.connections >= 1000 and f.scenario != "health" and f.error_count:
            print(f"goal at {f.connections} connections, {f.scenario}: MISSED ({f.errors})")


if __name__ == "__main__":
    main()
