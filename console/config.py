"""Settings from the environment (prefix CONSOLE_), with safe local defaults."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from .clock import TOKYO

PREFIX = "CONSOLE_"

# The checkout's instance folder, unless CONSOLE_INSTANCE_PATH names another.
DEFAULT_INSTANCE_PATH = Path(__file__).resolve().parent.parent / "instance"

# Shift length: an operator's session ends after this much inactivity (DESIGN: shared desk PCs).
DEFAULT_IDLE_MINUTES = 9 * 60


class ConfigError(RuntimeError):
    """Raised when the environment describes an unsafe or incomplete configuration."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(PREFIX + name)
    return value if value not in (None, "") else default


def _bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _float(name: str, default: float) -> float:
    return float(_env(name, str(default)))


def instance_path() -> str:
    """The instance folder (SQLite file, outbox, reports, compiled catalogues): CONSOLE_INSTANCE_PATH."""
    return _env("INSTANCE_PATH") or str(DEFAULT_INSTANCE_PATH)


def load_config(instance_path: str, overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from CONSOLE_* variables, then apply overrides."""
    overrides = dict(overrides or {})
    env = overrides.pop("ENV", None) or _env("ENV", "development")
    production = env == "production"
    instance = Path(instance_path)

    secret = _env("SECRET_KEY")
    if secret is None and "SECRET_KEY" not in overrides:
        if production:
            raise ConfigError("CONSOLE_SECRET_KEY must be set when CONSOLE_ENV=production")
        secret = "dev-only-secret-not-for-production"

    database_url = _env("DATABASE_URL") or f"sqlite:///{instance / 'console.db'}"
    idle = _int("IDLE_MINUTES", DEFAULT_IDLE_MINUTES)
    secure_cookies = _bool("SECURE_COOKIES", production)

    config = {
        "CONSOLE_ENV": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        # A failing statement's bound values (phones, e-mails, names) stay out of error messages and logs.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        # The longest a web request's SQL statement may run (PostgreSQL; 0: no limit).
        "WEB_STATEMENT_TIMEOUT_SECONDS": _float("WEB_STATEMENT_TIMEOUT_SECONDS", 5),
        "REDIS_URL": _env("REDIS_URL"),
        # Sign-in throttling (Flask-Limiter): per client address and per e-mail address tried.
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        "LOGIN_LIMIT_PER_ADDRESS": _env("LOGIN_LIMIT_PER_ADDRESS", "30 per minute;300 per hour"),
        "LOGIN_LIMIT_PER_ACCOUNT": _env("LOGIN_LIMIT_PER_ACCOUNT", "10 per minute;50 per hour"),
        # A Redis outage must not lock staff out: count in memory until it is back.
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": False,
        "RQ_QUEUE": _env("RQ_QUEUE", "console"),
        "MAIL_SERVER": _env("MAIL_SERVER"),
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", False),
        "MAIL_USERNAME": _env("MAIL_USERNAME"),
        "MAIL_PASSWORD": _env("MAIL_PASSWORD"),
        "MAIL_SENDER": _env("MAIL_SENDER", "大阪市水道局 マイページ <no-reply@mypage.example.jp>"),
        "PORTAL_PASSWORD_RESET_URL": _env("PORTAL_PASSWORD_RESET_URL", "https://mypage.example.jp/password/reset"),
        "OUTBOX_DIR": _env("OUTBOX_DIR", str(instance / "outbox")),
        # Every mail (console.jobs.mail): recipients per sending job, how long a job's claim on a row
        # lasts, how many attempts a mail gets, how often each worker's sweeper looks for stale work and
        # how long a recorded mail may wait for its own job before the sweeper sends it.
        "MAIL_BATCH_SIZE": _int("MAIL_BATCH_SIZE", 500),
        "MAIL_LEASE_SECONDS": _int("MAIL_LEASE_SECONDS", 300),
        "MAIL_MAX_ATTEMPTS": _int("MAIL_MAX_ATTEMPTS", 5),
        "MAIL_SWEEP_SECONDS": _float("MAIL_SWEEP_SECONDS", 30),
        "MAIL_SWEEP_GRACE_SECONDS": _float("MAIL_SWEEP_GRACE_SECONDS", 60),
        # The one place the mails' signature comes from (templates/mail/*.txt read it as `centre`).
        "MAIL_CENTRE": {
            "utility": _env("MAIL_CENTRE_UTILITY", "大阪市水道局"),
            "name": _env("MAIL_CENTRE_NAME", "お客さまセンター"),
            "phone": _env("MAIL_CENTRE_PHONE", "06-6458-1132"),
        },
        "PUBLIC_BASE_URL": _env("PUBLIC_BASE_URL"),
        # Generated files (print batches: Excel lists and reissued notices); served only through role-checked views.
        "FILES_DIR": _env("FILES_DIR", str(instance / "files")),
        # Japan time of day at which the daily job gathers open reissue requests into a print batch.
        "REISSUE_BATCH_TIME": _env("REISSUE_BATCH_TIME", "17:00"),
        "STAFF_LOCK_THRESHOLD": _int("STAFF_LOCK_THRESHOLD", 5),
        # The audit trail (PostgreSQL: monthly partitions): months kept in the live table, and how many
        # months ahead the daily job makes partitions.
        "AUDIT_LIVE_MONTHS": _int("AUDIT_LIVE_MONTHS", 13),
        "AUDIT_PARTITIONS_AHEAD": _int("AUDIT_PARTITIONS_AHEAD", 3),
        # Argon2id cost of staff password hashes (argon2-cffi's defaults, RFC 9106's second choice);
        # hashes made with other costs are redone at the member's next sign-in.
        "PASSWORD_HASH_TIME_COST": _int("PASSWORD_HASH_TIME_COST", 3),
        "PASSWORD_HASH_MEMORY_KIB": _int("PASSWORD_HASH_MEMORY_KIB", 65536),
        # Business days a pending start application may wait before the queue highlights it.
        "APPLICATION_SLA_DAYS": _int("APPLICATION_SLA_DAYS", 2),
        # Excel reports: where built files live (shared by web and workers), how long they can be
        # downloaded, rows per sheet (None: Excel's own limit), and when a build counts as lost with its
        # worker (rq issue #2015).
        "REPORTS_DIR": _env("REPORTS_DIR", str(instance / "reports")),
        "REPORT_TTL_HOURS": _int("REPORT_TTL_HOURS", 72),
        "REPORT_MONTHLY_TTL_DAYS": _int("REPORT_MONTHLY_TTL_DAYS", 400),
        "REPORT_SHEET_ROWS": int(rows) if (rows := _env("REPORT_SHEET_ROWS")) else None,
        "REPORT_JOB_TIMEOUT_MINUTES": _int("REPORT_JOB_TIMEOUT_MINUTES", 180),
        # Contacts' memos are personal data: the daily job removes those older than this (R21).
        "CONTACT_MEMO_RETENTION_YEARS": _int("CONTACT_MEMO_RETENTION_YEARS", 5),
        "IDLE_TIMEOUT": timedelta(minutes=idle),
        # No remember-me cookie is ever issued; these flags guard it anyway.
        "REMEMBER_COOKIE_DURATION": timedelta(minutes=idle),
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "console_session",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": timedelta(minutes=idle),
        "WTF_CSRF_TIME_LIMIT": idle * 60,
        "BABEL_DEFAULT_LOCALE": "ja",
        "BABEL_DEFAULT_TIMEZONE": TOKYO.key,
        "FLASK_ADMIN_SWATCH": "default",
        "JSON_AS_ASCII": False,
    }
    config.update(overrides)
    return config
