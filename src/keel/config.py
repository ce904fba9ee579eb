"""Keel's configuration: the only place that reads the environment.

Every setting is a ``KEEL_`` environment variable; nested groups use ``__``
(``KEEL_DATABASE__URL``). The README's configuration table lists them all and a test keeps
the two in step. Settings are validated once at start; a bad value stops the process with a
message that names the variable.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]

#: The development-only secret. Refused outside ``development``.
DEFAULT_SECRET_KEY = "keel-development-secret-key-change-me"  # noqa: S105 - a known placeholder
MIN_SECRET_KEY_LENGTH = 32
#: A colour setting: ``#rrggbb``, as email clients understand everywhere.
HEX_COLOR = r"^#[0-9a-fA-F]{6}$"


class DatabaseSettings(BaseModel):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL, e.g. postgresql+asyncpg://user@host/db. "
        "Unset: SQLite at <data_dir>/keel.db.",
    )
    migration_url: str | None = Field(
        default=None,
        description="PostgreSQL URL of the role that owns the tables, used only by migrations. "
        "Unset: the runtime URL. Set it so the runtime role is not the owner (row-level "
        "security; keel doctor checks).",
    )
    pool_size: int = Field(default=10, ge=1, description="PostgreSQL connections kept open.")
    max_overflow: int = Field(default=10, ge=0, description="Extra connections under load.")
    pool_timeout: float = Field(default=10.0, gt=0, description="Seconds to wait for a connection.")
    statement_timeout_ms: int = Field(
        default=30_000, ge=0, description="PostgreSQL statement_timeout per connection (0: none)."
    )
    lock_timeout_ms: int = Field(
        default=5_000, ge=0, description="PostgreSQL lock_timeout used by migrations."
    )
    sqlite_busy_timeout_ms: int = Field(
        default=5_000, ge=0, description="How long SQLite waits for a lock before failing."
    )
    echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")


class RedisSettings(BaseModel):
    url: str | None = Field(
        default=None,
        description="redis://host:port/db. Unset: in-process cache and broadcast.",
    )
    prefix: str = Field(default="keel:", description="Prefix of every key Keel writes.")
    timeout: float = Field(default=1.0, gt=0, description="Socket timeout in seconds.")


class CacheSettings(BaseModel):
    near_ttl_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Longest a process keeps its copy of a hot row (changes drop it at once).",
    )
    near_budget_mb: int = Field(
        default=64, ge=1, description="Memory each process may give its copies of hot rows."
    )


class SmtpSettings(BaseModel):
    url: str | None = Field(
        default=None,
        description="smtp://user:pass@host:587 (STARTTLS when offered) or smtps://host:465. "
        "Unset: mail is written to <data_dir>/mail/*.eml.",
    )
    sender: str = Field(default="Keel <no-reply@localhost>", description="From address.")
    starttls: Literal["auto", "always", "never"] = Field(
        default="auto", description="STARTTLS on smtp:// URLs: when offered, required, or never."
    )
    validate_certs: bool = Field(default=True, description="Verify the server's certificate.")
    ca_file: Path | None = Field(default=None, description="Extra CA bundle for the server.")
    timeout: float = Field(default=10.0, gt=0, description="Seconds per SMTP operation.")


class HttpSettings(BaseModel):
    max_body_bytes: int = Field(default=1_048_576, ge=1, description="Largest request body.")
    cors_origins: list[str] = Field(
        default_factory=list, description='Origins allowed by CORS, JSON list: ["https://a.b"].'
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="Where users reach Keel (links in mail)."
    )
    hsts_max_age: int = Field(default=31_536_000, ge=0, description="HSTS max-age outside dev.")
    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1"],
        description="Proxies whose X-Forwarded-For is believed.",
    )


class JobSettings(BaseModel):
    embedded: bool | None = Field(
        default=None,
        description="Run the job worker inside `keel serve`. Unset: yes on SQLite, no otherwise.",
    )
    concurrency: int = Field(default=4, ge=1, description="Jobs one worker runs at once.")
    poll_interval: float = Field(default=1.0, gt=0, description="Seconds between idle polls.")
    max_attempts: int = Field(default=8, ge=1, description="Attempts before a job is dead.")
    backoff_base: float = Field(default=2.0, gt=0, description="First retry delay in seconds.")
    backoff_max: float = Field(default=3600.0, gt=0, description="Longest retry delay.")
    lease_seconds: float = Field(
        default=300.0, gt=0, description="A claimed job is re-run after this if its worker died."
    )
    listen: bool = Field(
        default=True,
        description="On PostgreSQL, wake workers with LISTEN/NOTIFY instead of the next poll.",
    )
    keep_done_days: int = Field(default=7, ge=0, description="Days finished jobs are kept.")
    metrics_port: int | None = Field(
        default=None, description="`keel worker` serves /metrics on this port when set."
    )


class AuthSettings(BaseModel):
    access_token_minutes: int = Field(default=15, ge=1, le=60, description="Access JWT lifetime.")
    refresh_token_days: int = Field(
        default=30, ge=1, description="Absolute lifetime of a session's refresh tokens."
    )
    refresh_idle_days: int = Field(
        default=7, ge=1, description="A session unused this long must log in again."
    )
    refresh_reuse_grace_seconds: float = Field(
        default=5.0,
        ge=0,
        description="A rotated refresh token presented again within this window (a client's "
        "concurrent refresh) is refused without revoking the session.",
    )
    issuer: str = Field(default="keel", description="JWT `iss`.")
    audience: str = Field(default="keel-api", description="JWT `aud`.")
    signing_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Ed25519 private keys (PEM), newest first: the first signs, all verify. "
        "Unset outside production: a key generated once in <data_dir>/keys.",
    )
    encryption_keys: list[SecretStr] = Field(
        default_factory=list,
        description="AES-256-GCM keys (base64, 32 bytes), newest first, for secrets at rest "
        "(TOTP). Unset: one derived from KEEL_SECRET_KEY.",
    )
    password_min_length: int = Field(
        default=12, ge=8, le=64, description="Shortest password accepted (never below 8)."
    )
    verification_hours: int = Field(default=24, ge=1, description="Email verification link life.")
    reset_minutes: int = Field(default=60, ge=5, description="Password reset link lifetime.")
    lockout_threshold: int = Field(
        default=10, ge=3, description="Failed logins before an account or IP is locked."
    )
    lockout_minutes: int = Field(default=15, ge=1, description="How long a lock lasts.")
    mfa_grace_days: int = Field(
        default=7, ge=0, description="Days a new organization admin may work before enrolling MFA."
    )


class RateLimitSettings(BaseModel):
    on_redis_failure: Literal["fallback", "open", "closed"] = Field(
        default="fallback",
        description="When Redis fails mid-request: fallback counts in this process (limits "
        "become per process), open allows every request, closed answers 503.",
    )
    redis_retry_seconds: float = Field(
        default=2.0,
        gt=0,
        description="After a Redis failure, decisions skip Redis for this long before trying "
        "it again (so an outage does not cost every request a timeout).",
    )
    memory_max_keys: int = Field(
        default=100_000,
        ge=1,
        description="Counters the in-process limiter holds at most; past it the soonest to "
        "expire is dropped.",
    )
    auth_per_ip: int = Field(
        default=60, ge=1, description="Requests one IP may make to /api/v1/auth/* per window."
    )
    auth_window_seconds: int = Field(
        default=60, ge=1, description="The window of the per-IP limit on /api/v1/auth/*."
    )


class FlagSettings(BaseModel):
    environment: Literal["development", "staging", "production"] | None = Field(
        default=None,
        description="The environment feature flags are evaluated in; unset: development for "
        "KEEL_ENV development and test, production for production. Set staging on a staging "
        "deployment.",
    )


class AuditSettings(BaseModel):
    """The audit log: hash chain, export and retention (issue 6)."""

    platform_retention_days: int = Field(
        default=365,
        ge=365,
        description="Days platform-level audit entries (no organization) are kept before the "
        "daily purge; organizations keep theirs per plan (audit_retention_days). Never below "
        "a year: the database refuses younger purges.",
    )
    export_batch_rows: int = Field(
        default=1000,
        ge=100,
        le=10_000,
        description="Rows an audit export reads per query while streaming (memory stays "
        "constant whatever the export's size).",
    )


class WebhookSettings(BaseModel):
    """Outbound webhooks and Slack integrations: delivery, retries, SSRF guard (issue 6)."""

    allow_loopback: bool = Field(
        default=False,
        description="Let webhook and Slack URLs point at loopback addresses (127.0.0.0/8, ::1); "
        "for development and tests only. Private, link-local and metadata addresses stay "
        "refused.",
    )
    timeout_seconds: float = Field(
        default=15.0, gt=0, le=60, description="Longest one delivery attempt may take."
    )
    signing_grace_hours: int = Field(
        default=24,
        ge=0,
        description="After a secret rotation, hours the previous secret keeps signing too.",
    )
    disable_after_days: int = Field(
        default=5,
        ge=1,
        description="An endpoint failing every attempt for this many days is disabled and its "
        "organization's admins are emailed.",
    )
    response_excerpt_bytes: int = Field(
        default=1024, ge=0, le=65_536, description="Bytes of each response kept in the log."
    )
    max_retry_after_seconds: int = Field(
        default=36_000,
        ge=0,
        description="A receiver's Retry-After is honoured when longer than the schedule's "
        "delay, up to this many seconds.",
    )
    batch_size: int = Field(
        default=200,
        ge=1,
        le=5000,
        description="Deliveries one job sends to one endpoint before handing over to the next.",
    )
    endpoint_concurrency: int = Field(
        default=8,
        ge=1,
        le=256,
        description="Requests in flight to one endpoint at once, on reused keep-alive "
        "connections (more costs CPU per request in the connection pool: bench/webhooks.py).",
    )
    log_retention_days: int = Field(
        default=30,
        ge=1,
        description="Days finished deliveries (succeeded, failed for good, or pending on a "
        "disabled endpoint), their attempts and messages stay in the delivery log; the daily "
        "webhooks.purge job deletes older ones.",
    )


class NotificationSettings(BaseModel):
    """Email look (product name, colours), in-app notifications, unsubscribe (issue 6)."""

    product_name: str = Field(
        default="Keel",
        min_length=1,
        max_length=60,
        description="The product's name in every email (subjects, header, footer).",
    )
    logo_text: str | None = Field(
        default=None,
        max_length=60,
        description="The wordmark at the top of every email; unset: the product name.",
    )
    primary_color: str = Field(
        default="#2563eb",
        pattern=HEX_COLOR,
        description="Email buttons and links, as #rrggbb.",
    )
    text_color: str = Field(
        default="#1f2933", pattern=HEX_COLOR, description="Email body text, as #rrggbb."
    )
    background_color: str = Field(
        default="#f4f5f7",
        pattern=HEX_COLOR,
        description="Email page background around the white card, as #rrggbb.",
    )
    support_email: str | None = Field(
        default=None, description="Shown in every email's footer as the address to write to."
    )
    retention_days: int = Field(
        default=90, ge=1, description="Days in-app notifications are kept (read or not)."
    )
    stream_heartbeat_seconds: float = Field(
        default=15.0,
        gt=0,
        le=300,
        description="The live notification stream sends a comment this often when idle, so "
        "proxies keep the connection open.",
    )
    unsubscribe_secret: SecretStr | None = Field(
        default=None,
        description="Signs unsubscribe links (they never expire); change it to void every link "
        "sent so far. Unset: derived from KEEL_SECRET_KEY.",
    )


class OnboardingSettings(BaseModel):
    """Welcome mail, sample data and the day 1/3/7 sequence (issue 6)."""

    personal_organization: bool = Field(
        default=True,
        description='On sign-up, create "<Name>\'s organization" with the new user as admin.',
    )
    sample_data: bool = Field(
        default=True,
        description="Put a demo project with a few documents in every new organization.",
    )
    welcome_email: bool = Field(default=True, description="Send the welcome email on sign-up.")
    sequence_days: list[int] = Field(
        default_factory=lambda: [1, 3, 7],
        description="Days after sign-up the onboarding emails go out (each has a template "
        "onboarding_day<N>); empty: no sequence.",
    )


class AlertSettings(BaseModel):
    """error.detected: per-fingerprint rate limit, superadmin email and Slack (issue 6)."""

    window_seconds: int = Field(
        default=300,
        ge=1,
        description="At most one error.detected per error fingerprint in this window; the "
        "occurrences in between are counted into the next one.",
    )
    email_superadmins: bool = Field(
        default=True, description="Email every active superadmin on error.detected."
    )
    slack_webhook_url: SecretStr | None = Field(
        default=None,
        description="Slack incoming-webhook URL that error.detected is posted to; unset: no Slack.",
    )
    report_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Longest an unhandled error spends publishing error.detected after its 500 "
        "was answered (a database outage must not hold requests).",
    )


class IdempotencySettings(BaseModel):
    """``Idempotency-Key`` on the POST endpoints that create (ADR 0019)."""

    ttl_hours: int = Field(
        default=24,
        ge=1,
        le=720,
        description="Hours a key's first answer is replayed to repeats; after that the key may "
        "be used again, and the hourly idempotency.purge job deletes it.",
    )


class SentrySettings(BaseModel):
    dsn: str | None = Field(default=None, description="Sentry DSN; unset disables reporting.")
    traces_sample_rate: float = Field(default=0.0, ge=0, le=1, description="Tracing sample rate.")


class LogSettings(BaseModel):
    level: str = Field(default="INFO", description="Root log level.")
    format: Literal["auto", "json", "console"] = Field(
        default="auto", description="auto: console in development, JSON elsewhere."
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KEEL_", env_nested_delimiter="__", extra="ignore", validate_default=True
    )

    env: Environment = Field(default="development", description="development | test | production.")
    secret_key: SecretStr = Field(
        default=SecretStr(DEFAULT_SECRET_KEY),
        description=f"Signing key: {MIN_SECRET_KEY_LENGTH}+ random characters outside development.",
    )
    data_dir: Path = Field(default=Path("var"), description="Where embedded data lives.")
    ready_timeout: float = Field(
        default=0.8, gt=0, description="Seconds each /ready check may take before it fails."
    )
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    ratelimit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    flags: FlagSettings = Field(default_factory=FlagSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    onboarding: OnboardingSettings = Field(default_factory=OnboardingSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    idempotency: IdempotencySettings = Field(default_factory=IdempotencySettings)
    sentry: SentrySettings = Field(default_factory=SentrySettings)
    log: LogSettings = Field(default_factory=LogSettings)

    @model_validator(mode="after")
    def _refuse_weak_secret_outside_development(self) -> Settings:
        if self.env == "development":
            return self
        key = self.secret_key.get_secret_value()
        if key == DEFAULT_SECRET_KEY or len(key) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(
                f"KEEL_SECRET_KEY must be set to a random value of at least "
                f"{MIN_SECRET_KEY_LENGTH} characters when KEEL_ENV={self.env}; "
                "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        if self.env == "production" and not self.auth.signing_keys:
            raise ValueError(
                "KEEL_AUTH__SIGNING_KEYS must hold at least one Ed25519 private key (PEM) when "
                "KEEL_ENV=production; generate one with: openssl genpkey -algorithm ed25519"
            )
        return self

    def for_migrations(self) -> Settings:
        """These settings with the owner's URL: what ``alembic`` connects with."""
        url = self.database.migration_url
        if url is None:
            return self
        return self.model_copy(update={"database": self.database.model_copy(update={"url": url})})

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite+aiosqlite:///{self.data_dir / 'keel.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def embedded_worker(self) -> bool:
        return self.is_sqlite if self.jobs.embedded is None else self.jobs.embedded

    @property
    def is_development(self) -> bool:
        return self.env == "development"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment once."""
    return Settings()
