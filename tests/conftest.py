"""Fixtures: a migrated database per run (PostgreSQL or SQLite), a rolled-back transaction per test,
a client that signs in through the real form, real Redis and a real SMTP server on loopback."""

from __future__ import annotations

import contextvars
import os
import re
import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from console import clock, create_app
from console.extensions import db as _db
from tests import factories

IN_CI = os.environ.get("CI") == "true"


def pytest_addoption(parser):
    parser.addoption(
        "--clock", default=os.environ.get("CONSOLE_TEST_CLOCK") or None,
        help="move the clock for the whole run (time-machine): 'utc-1530' (the latest 15:30 UTC, when "
             "Japan's date is a day ahead of UTC's), 'jst-month-end' (23:59 JST on the last day of the "
             "latest month that has ended) or an ISO 8601 instant with its offset",
    )


def clock_destination(spec: str, real_now: datetime) -> datetime:
    """The instant a --clock spec names, relative to the real time of the run."""
    if spec == "utc-1530":
        at = real_now.astimezone(UTC).replace(hour=15, minute=30, second=0, microsecond=0)
        return at if at <= real_now else at - timedelta(days=1)
    if spec == "jst-month-end":
        first_of_month = real_now.astimezone(clock.TOKYO).replace(day=1, hour=23, minute=59, second=0, microsecond=0)
        return first_of_month - timedelta(days=1)
    try:
        at = datetime.fromisoformat(spec)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise pytest.UsageError(f"--clock {spec!r}: give utc-1530, jst-month-end or an instant with its offset")
    return at


def pytest_configure(config):
    # Started here, before collection, so that module-level code sees the same clock as the tests.
    # The clock is moved, not stopped: it ticks on from the destination, so leases, idle timeouts and
    # sweeps that wait for time to pass still see it pass. Subprocesses started through tests/travel.py
    # (rq workers) get the same offset from CONSOLE_TEST_CLOCK_OFFSET, so the whole system is moved.
    spec = config.getoption("--clock")
    if spec:
        import time_machine

        real_now = clock.now()  # not moved yet: the real time
        destination = clock_destination(spec, real_now)
        os.environ["CONSOLE_TEST_CLOCK_OFFSET"] = str((destination - real_now).total_seconds())
        config._console_clock = time_machine.travel(destination, tick=True)
        config._console_clock.start()


def pytest_unconfigure(config):
    traveller = getattr(config, "_console_clock", None)
    if traveller is not None:
        traveller.stop()


def pytest_report_header(config):
    return f"console clock: {clock.now().isoformat()} (Japan), TZ={os.environ.get('TZ', '(unset)')}"


def _service_missing(message: str):
    # A missing service is a failure, never a skip: a skipped suite must not read as passing.
    pytest.exit(f"test service unavailable: {message}", returncode=3)


def fresh_database(tmp_path_factory, kind: str):
    """Yields the URL of a new, empty database (PostgreSQL console_<kind>_…, or a SQLite file), dropped after."""
    raw = os.environ.get("CONSOLE_TEST_DATABASE_URL", "sqlite")
    if raw == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp(f'{kind}-db') / f'console-{kind}.db'}"
        return
    maintenance = make_url(raw)
    name = f"console_{kind}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    engine = create_engine(maintenance, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        _service_missing(f"PostgreSQL at {maintenance.render_as_string(hide_password=True)}: {exc}")
    yield maintenance.set(database=name).render_as_string(hide_password=False)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A fresh, empty database for this run: a new PostgreSQL database, or a SQLite file."""
    yield from fresh_database(tmp_path_factory, "test")


@pytest.fixture(scope="session")
def redis_url():
    """The Redis test database (flushed before use)."""
    url = os.environ.get("CONSOLE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    from redis import Redis

    try:
        client = Redis.from_url(url, socket_connect_timeout=2)
        client.flushdb()
    except Exception as exc:  # noqa: BLE001
        _service_missing(f"Redis at {url}: {exc}")
    return url


class IsolatedClient(FlaskClient):
    """Runs each request in a fresh context, so it gets its own app context, g and db.session,
    as in production, even though the test body holds an app context of its own."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    """The app under test, migrated with Alembic once per run (so the migrations are tested too)."""
    outbox = tmp_path_factory.mktemp("outbox")
    application = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": None,
            "MAIL_SERVER": None,
            "OUTBOX_DIR": str(outbox),
            "FILES_DIR": str(tmp_path_factory.mktemp("files")),
            "SERVER_NAME": None,
            # The suite signs in hundreds of times from one address; tests/test_security.py builds its
            # own app with throttling on.
            "RATELIMIT_ENABLED": False,
            **factories.TEST_HASH_COST,
        }
    )
    application.test_client_class = IsolatedClient
    from flask_migrate import upgrade

    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        _db.engine.dispose()


@pytest.fixture()
def database(app):
    """A database session whose work is rolled back after the test, commits included."""
    with app.app_context():
        engines = _db.engines
        engine = engines[None]
        connection = engine.connect()
        transaction = connection.begin()
        engines[None] = connection
        try:
            yield _db
        finally:
            _db.session.remove()
            engines[None] = engine
            transaction.rollback()
            connection.close()


@pytest.fixture()
def client(app, database):
    """A test client sharing the test's transaction."""
    return app.test_client()


def csrf_token(client, path: str = "/") -> str:
    """The CSRF token from a form on the given page."""
    page = client.get(path)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    if match is None:
        match = re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


def password_reset_by_phone(client, page: str, reason: str):
    """On a portal account's page: confirm the caller by the registered phone, then send the account a
    password-reset mail for `reason`. Returns the answer, redirects followed."""
    client.post(f"{page}/identity", data={"method": "registered_phone", "csrf_token": csrf_token(client, page)})
    return client.post(f"{page}/password-reset", data={"reason": reason, "csrf_token": csrf_token(client, page)},
                       follow_redirects=True)


def sign_in(client, email: str, password: str, *, secret: str = factories.TOTP_SECRET):
    """Sign in through the real forms, CSRF tokens included: the password, then (when the password was
    accepted and the member has a second factor) the code an authenticator with `secret` shows now.

    Returns the last answer: a refused password's page, the redirect to enrolment (a member without a
    second factor), or the code step's answer (302 to the page asked for when signed in)."""
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    if response.status_code != 302 or not response.headers["Location"].startswith("/login/code"):
        return response
    return client.post("/login/code", data={"code": _fresh_code(email, secret),
                                            "csrf_token": csrf_token(client, "/login/code")})


def _fresh_code(email: str, secret: str) -> str:
    """The current code, or the next one when the member already used the current one (a second sign-in
    within 30 seconds): the console accepts each code once and one time step either side of now."""
    from flask import has_app_context
    from sqlalchemy import select

    from console.models import Staff
    from console.normalise import email_key

    last_step = None
    if has_app_context():  # the test's own session sees the rows the test made
        last_step = _db.session.scalar(select(Staff.totp_last_step).where(Staff.email == email_key(email)))
    import pyotp

    now_step = pyotp.TOTP(secret).timecode(clock.now())
    if last_step is not None and last_step > now_step and has_app_context():
        # A third sign-in of one member within 30 seconds (several browsers in one test): both codes the
        # console would take are spent. As if the earlier sign-ins were a minute ago, in the test's data.
        from sqlalchemy import update

        _db.session.execute(update(Staff).where(Staff.email == email_key(email)).values(totp_last_step=now_step - 2))
        _db.session.flush()
        last_step = now_step - 2
    offset = 1 if last_step is not None and last_step >= now_step else 0
    return factories.totp_code(secret, step_offset=offset)


@pytest.fixture()
def login_as(client, database):
    """login_as("operator") → the signed-in Staff; the client carries the session."""

    def _login(*roles: str):
        staff = factories.staff(*roles)
        _db.session.commit()
        response = sign_in(client, staff.email, factories.PASSWORD)
        assert response.status_code == 302, response.get_data(as_text=True)
        return staff

    return _login


class SmtpSink:
    """Messages received by the loopback SMTP server."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def smtp_server(app):
    """A real SMTP server on 127.0.0.1; the app sends to it for the duration of the test."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    previous = app.config["MAIL_SERVER"], app.config["MAIL_PORT"]
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    try:
        yield sink
    finally:
        app.config["MAIL_SERVER"], app.config["MAIL_PORT"] = previous
        controller.stop()


@pytest.fixture()
def rq_queue(app, redis_url):
    """Jobs go to real Redis for the test; run them with run_jobs(rq_queue)."""
    from redis import Redis

    Redis.from_url(redis_url).flushdb()
    app.config["REDIS_URL"] = redis_url
    from console.jobs.queue import get_queue

    with app.app_context():
        queue = get_queue()
    try:
        yield queue
    finally:
        app.config["REDIS_URL"] = None


def run_jobs(queue) -> None:
    """Run every queued job in this process (rq's non-forking worker), until the queue is empty."""
    from rq import SimpleWorker

    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def outbox_files(app) -> list[Path]:
    """The .eml files written to the outbox so far."""
    return sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))
