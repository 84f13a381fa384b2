"""Configuration from CONSOLE_* variables, with safe local defaults."""

from __future__ import annotations

import pytest

from console.config import ConfigError, load_config


def test_local_defaults(monkeypatch, tmp_path):
    for name in ("CONSOLE_DATABASE_URL", "CONSOLE_REDIS_URL", "CONSOLE_SECRET_KEY", "CONSOLE_ENV", "CONSOLE_MAIL_SERVER"):
        monkeypatch.delenv(name, raising=False)
    config = load_config(str(tmp_path))
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'console.db'}"
    assert config["REDIS_URL"] is None and config["MAIL_SERVER"] is None
    assert config["OUTBOX_DIR"] == str(tmp_path / "outbox")
    assert config["BABEL_DEFAULT_LOCALE"] == "ja" and config["BABEL_DEFAULT_TIMEZONE"] == "Asia/Tokyo"


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("CONSOLE_DATABASE_URL", "postgresql+psycopg://db/console")
    monkeypatch.setenv("CONSOLE_REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("CONSOLE_MAIL_SERVER", "smtp.example.jp")
    monkeypatch.setenv("CONSOLE_MAIL_PORT", "2525")
    config = load_config(str(tmp_path))
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://db/console"
    assert config["REDIS_URL"] == "redis://cache:6379/0"
    assert (config["MAIL_SERVER"], config["MAIL_PORT"]) == ("smtp.example.jp", 2525)


def test_production_without_secret_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("CONSOLE_ENV", "production")
    monkeypatch.delenv("CONSOLE_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        load_config(str(tmp_path))


def test_production_cookies_are_secure(monkeypatch, tmp_path):
    monkeypatch.setenv("CONSOLE_ENV", "production")
    monkeypatch.setenv("CONSOLE_SECRET_KEY", "s" * 32)
    config = load_config(str(tmp_path))
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["SESSION_COOKIE_HTTPONLY"] and config["SESSION_COOKIE_SAMESITE"] == "Lax"
