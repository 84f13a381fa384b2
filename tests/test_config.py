"""Configuration from CONSOLE_* variables, with safe local defaults."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from console import ROOT, clock
from console.config import ConfigError, instance_path, load_config
from console.extensions import db
from console.web import YOUNG_COLLECTION_THRESHOLD
from tests import factories


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


README = Path(__file__).resolve().parent.parent / "README.md"

# Every setting README documents: the value the test sets, the config key it lands in, what that key then holds.
SETTINGS = {
    "CONSOLE_ENV": ("staging", "CONSOLE_ENV", "staging"),
    "CONSOLE_SECRET_KEY": ("k" * 32, "SECRET_KEY", "k" * 32),
    "CONSOLE_DATABASE_URL": ("postgresql+psycopg://db/x", "SQLALCHEMY_DATABASE_URI", "postgresql+psycopg://db/x"),
    "CONSOLE_REDIS_URL": ("redis://cache:6379/3", "REDIS_URL", "redis://cache:6379/3"),
    "CONSOLE_RQ_QUEUE": ("night", "RQ_QUEUE", "night"),
    "CONSOLE_WEB_STATEMENT_TIMEOUT_SECONDS": ("0.5", "WEB_STATEMENT_TIMEOUT_SECONDS", 0.5),
    "CONSOLE_MAIL_SERVER": ("smtp.example.jp", "MAIL_SERVER", "smtp.example.jp"),
    "CONSOLE_MAIL_PORT": ("2525", "MAIL_PORT", 2525),
    "CONSOLE_MAIL_USE_TLS": ("true", "MAIL_USE_TLS", True),
    "CONSOLE_MAIL_USERNAME": ("relay", "MAIL_USERNAME", "relay"),
    "CONSOLE_MAIL_PASSWORD": ("pw", "MAIL_PASSWORD", "pw"),
    "CONSOLE_MAIL_SENDER": ("水道局 <a@example.jp>", "MAIL_SENDER", "水道局 <a@example.jp>"),
    "CONSOLE_IDLE_MINUTES": ("30", "IDLE_TIMEOUT", timedelta(minutes=30)),
    "CONSOLE_STAFF_LOCK_THRESHOLD": ("3", "STAFF_LOCK_THRESHOLD", 3),
    "CONSOLE_AUDIT_LIVE_MONTHS": ("25", "AUDIT_LIVE_MONTHS", 25),
    "CONSOLE_AUDIT_PARTITIONS_AHEAD": ("6", "AUDIT_PARTITIONS_AHEAD", 6),
    "CONSOLE_PASSWORD_HASH_TIME_COST": ("2", "PASSWORD_HASH_TIME_COST", 2),
    "CONSOLE_PASSWORD_HASH_MEMORY_KIB": ("19456", "PASSWORD_HASH_MEMORY_KIB", 19456),
    "CONSOLE_SECURE_COOKIES": ("1", "SESSION_COOKIE_SECURE", True),
    "CONSOLE_INSTANCE_PATH": ("/srv/console", None, "/srv/console"),
    "CONSOLE_LOGIN_LIMIT_PER_ADDRESS": ("5 per minute", "LOGIN_LIMIT_PER_ADDRESS", "5 per minute"),
    "CONSOLE_LOGIN_LIMIT_PER_ACCOUNT": ("3 per minute", "LOGIN_LIMIT_PER_ACCOUNT", "3 per minute"),
    "CONSOLE_APPLICATION_SLA_DAYS": ("5", "APPLICATION_SLA_DAYS", 5),
    "CONSOLE_REPORTS_DIR": ("/srv/reports", "REPORTS_DIR", "/srv/reports"),
    "CONSOLE_REPORT_TTL_HOURS": ("24", "REPORT_TTL_HOURS", 24),
    "CONSOLE_REPORT_MONTHLY_TTL_DAYS": ("30", "REPORT_MONTHLY_TTL_DAYS", 30),
    "CONSOLE_REPORT_SHEET_ROWS": ("1000", "REPORT_SHEET_ROWS", 1000),
    "CONSOLE_REPORT_JOB_TIMEOUT_MINUTES": ("15", "REPORT_JOB_TIMEOUT_MINUTES", 15),
    "CONSOLE_FILES_DIR": ("/srv/files", "FILES_DIR", "/srv/files"),
    "CONSOLE_REISSUE_BATCH_TIME": ("16:30", "REISSUE_BATCH_TIME", "16:30"),
    "CONSOLE_RATELIMIT_ENABLED": ("0", "RATELIMIT_ENABLED", False),
    "CONSOLE_PORTAL_PASSWORD_RESET_URL": ("https://p.example.jp/r", "PORTAL_PASSWORD_RESET_URL", "https://p.example.jp/r"),
    "CONSOLE_OUTBOX_DIR": ("/srv/outbox", "OUTBOX_DIR", "/srv/outbox"),
    "CONSOLE_MAIL_BATCH_SIZE": ("50", "MAIL_BATCH_SIZE", 50),
    "CONSOLE_MAIL_LEASE_SECONDS": ("60", "MAIL_LEASE_SECONDS", 60),
    "CONSOLE_MAIL_MAX_ATTEMPTS": ("2", "MAIL_MAX_ATTEMPTS", 2),
    "CONSOLE_MAIL_SWEEP_SECONDS": ("5", "MAIL_SWEEP_SECONDS", 5.0),
    "CONSOLE_MAIL_SWEEP_GRACE_SECONDS": ("10", "MAIL_SWEEP_GRACE_SECONDS", 10.0),
    "CONSOLE_MAIL_CENTRE_UTILITY": ("水道局", "MAIL_CENTRE",
                                    {"utility": "水道局", "name": "お客さまセンター", "phone": "06-6458-1132"}),
    "CONSOLE_MAIL_CENTRE_NAME": ("窓口", "MAIL_CENTRE",
                                 {"utility": "大阪市水道局", "name": "窓口", "phone": "06-6458-1132"}),
    "CONSOLE_MAIL_CENTRE_PHONE": ("06-0000-0000", "MAIL_CENTRE",
                                  {"utility": "大阪市水道局", "name": "お客さまセンター", "phone": "06-0000-0000"}),
    "CONSOLE_CONTACT_MEMO_RETENTION_YEARS": ("2", "CONTACT_MEMO_RETENTION_YEARS", 2),
    "CONSOLE_PUBLIC_BASE_URL": ("https://suido.example.jp", "PUBLIC_BASE_URL", "https://suido.example.jp"),
}


def _clean_environment(monkeypatch):
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)


def test_every_documented_setting_is_covered_here():
    documented = set(re.findall(r"`(CONSOLE_[A-Z_]+)`", README.read_text(encoding="utf-8").split("## Configuration")[1].split("\n## ")[0]))
    assert documented == set(SETTINGS)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_each_documented_setting_is_read(monkeypatch, tmp_path, name):
    value, key, expected = SETTINGS[name]
    _clean_environment(monkeypatch)
    default = load_config(str(tmp_path))[key] if key else instance_path()
    assert default != expected  # the test sets something the default is not
    monkeypatch.setenv(name, value)
    assert (load_config(str(tmp_path))[key] if key else instance_path()) == expected


def test_application_sla_days_sets_the_queue_highlight(client, login_as, monkeypatch, tmp_path):
    # Nine calendar days hold at least five business days and fewer than ten, whatever today is.
    factories.start_application(received_at=clock.now() - timedelta(days=9), applicant_name="期限 確認")
    db.session.commit()
    login_as("operator")
    for days, overdue in (("10", 0), ("2", 1)):
        monkeypatch.setenv("CONSOLE_APPLICATION_SLA_DAYS", days)
        monkeypatch.setitem(client.application.config, "APPLICATION_SLA_DAYS",
                            load_config(str(tmp_path))["APPLICATION_SLA_DAYS"])
        body = client.get("/applications/").get_data(as_text=True)
        assert "期限 確認" in body and body.count('data-overdue="1"') == overdue


def test_rq_cron_file_takes_queue_and_timeout_from_the_settings(monkeypatch, redis_url):
    from redis import Redis
    from rq.cron import CronScheduler

    monkeypatch.setenv("CONSOLE_RQ_QUEUE", "monthly-reports")
    monkeypatch.setenv("CONSOLE_REPORT_JOB_TIMEOUT_MINUTES", "15")
    scheduler = CronScheduler(connection=Redis.from_url(redis_url))
    scheduler.load_config_from_file("console.jobs.reports_cron")
    (job,) = scheduler.get_jobs()
    assert job.queue_name == "monthly-reports" and job.job_options["job_timeout"] == 15 * 60 * 4


def test_only_config_reads_the_environment():
    console = Path(__file__).resolve().parent.parent / "console"
    readers = [str(p.relative_to(console)) for p in console.rglob("*.py")
               if re.search(r"os\.environ|getenv", p.read_text(encoding="utf-8"))]
    assert readers == ["config.py"]


def test_a_web_worker_keeps_what_it_loaded_out_of_the_collector_and_collects_a_request_young():
    """gunicorn.conf.py's post_worker_init, run as gunicorn runs it (in a process of its own: it changes the
    collector for the whole process)."""
    code = ("import gc, runpy; import console; conf = runpy.run_path('gunicorn.conf.py'); "
            "conf['post_worker_init'](None); print(gc.get_threshold()[0], gc.get_freeze_count() > 10_000)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(YOUNG_COLLECTION_THRESHOLD), "True"]
