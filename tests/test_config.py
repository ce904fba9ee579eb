"""Settings are validated at start; weak secrets are refused outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from keel.config import DEFAULT_SECRET_KEY, Settings

STRONG = "x" * 48


@pytest.mark.parametrize("env", ["production", "test"])
@pytest.mark.parametrize("secret", [DEFAULT_SECRET_KEY, "short-key", "y" * 31])
def test_settings__weak_secret_outside_development__refused(env: str, secret: str) -> None:
    with pytest.raises(ValidationError, match="KEEL_SECRET_KEY"):
        Settings(env=env, secret_key=secret)


def test_settings__default_secret_in_development__allowed() -> None:
    assert Settings(env="development").secret_key.get_secret_value() == DEFAULT_SECRET_KEY


def test_settings__nested_env_vars__read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_ENV", "production")
    monkeypatch.setenv("KEEL_SECRET_KEY", STRONG)
    monkeypatch.setenv("KEEL_AUTH__SIGNING_KEYS", '["-----BEGIN PRIVATE KEY-----"]')
    monkeypatch.setenv("KEEL_DATABASE__URL", "postgresql+asyncpg://u@db/keel")
    monkeypatch.setenv("KEEL_DATABASE__POOL_SIZE", "25")
    monkeypatch.setenv("KEEL_HTTP__CORS_ORIGINS", '["https://a.example"]')
    settings = Settings()
    assert settings.database.pool_size == 25
    assert not settings.is_sqlite and not settings.embedded_worker
    assert settings.http.cors_origins == ["https://a.example"]


def test_settings__no_database_url__sqlite_in_data_dir() -> None:
    settings = Settings(data_dir="/tmp/k")
    assert settings.database_url == "sqlite+aiosqlite:////tmp/k/keel.db"
    assert settings.is_sqlite and settings.embedded_worker


def test_settings__bad_value__names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_DATABASE__POOL_SIZE", "lots")
    with pytest.raises(ValidationError, match="pool_size"):
        Settings()


def test_settings__production_without_signing_keys__refused() -> None:
    with pytest.raises(ValidationError, match="KEEL_AUTH__SIGNING_KEYS"):
        Settings(env="production", secret_key=STRONG)
