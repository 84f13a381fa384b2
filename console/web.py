"""The configure_* steps of create_app: database, i18n, sign-in, per-request hooks; and a web worker's
preparation once it has loaded the console (prepare_web_worker)."""

from __future__ import annotations

import logging
import os
import re
import secrets
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, g, has_request_context, redirect, request, session, url_for
from flask_login import current_user
from jinja2 import BaseLoader
from sqlalchemy import event
from sqlalchemy.orm import Session

from . import clock, transaction
from .extensions import babel, csrf, db, login_manager, migrate
from .services import DomainError

# Container objects allocated between two collections of the youngest generation (Python's default: 700).
# A customer page allocates thousands that live only for the request: at 700 the collector ran mid-page
# several times, moved what the page still held into the older generations, and a full collection of them
# took 20-50 ms every few dozen company pages. At 10,000 a request's objects are freed young (a company
# page's collector time 5.1 → 3.3 ms, no full collection in 400 pages: bench/customer_view_big.py's account).
YOUNG_COLLECTION_THRESHOLD = 10_000


def prepare_web_worker() -> None:
    """Once a web worker has loaded the console (gunicorn.conf.py's post_worker_init; the benchmarks' app).

    What it loaded (modules, the SQLAlchemy metadata and mappers, Flask-Admin's views) is moved out of the
    garbage collector's sight: without it every full collection walks them again, and a customer page that
    made one took 250-340 ms instead of 50 (bench/customer_timeline.py). Then the young generation is made
    big enough for a request (YOUNG_COLLECTION_THRESHOLD)."""
    import gc

    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)


def browser_signed_in() -> bool:
    """Whether this browser's session names a member (Flask-Login's key), read without the database: an
    answer for a busy or unreachable database must not need it (errors.py, the Cache-Control header)."""
    return "_user_id" in session


def configure_database(app: Flask) -> None:
    """Bind SQLAlchemy and Alembic; make SQLite transactional and foreign-key aware."""
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.config.get("MIGRATIONS_DIR") or _migrations_dir()))
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                _fix_sqlite(engine)
            elif engine.dialect.name == "postgresql":
                _custom_plans(engine)


def _custom_plans(engine) -> None:
    # psycopg prepares a statement on the server once it has run it five times, and PostgreSQL may then
    # plan it once for any parameters (a generic plan). For the console's keyset and "newest first"
    # queries a generic plan cannot use the values: a town's beginning became a scan of the whole index,
    # past the statement timeout, after its fifth run. Every statement is planned for its own values,
    # but on the pages marked plans_reused (below).
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_custom_plan")
        dbapi_connection.commit()


@event.listens_for(Session, "after_begin")
def _web_statement_settings(_session, _transaction, connection) -> None:
    # A web request's statements get CONSOLE_WEB_STATEMENT_TIMEOUT_SECONDS at most (PostgreSQL), so a
    # search that would hold a web worker for minutes ends as a "narrow the search" page (errors.py).
    # Jobs, CLI commands and migrations run outside a request and keep no limit. A page marked
    # plans_reused lets PostgreSQL keep its statements' plans, for this transaction only.
    if not has_request_context() or connection.dialect.name != "postgresql":
        return
    settings = []
    limit_ms = int(current_app.config.get("WEB_STATEMENT_TIMEOUT_SECONDS", 0) * 1000)
    if limit_ms > 0:
        settings.append(f"SET LOCAL statement_timeout = {limit_ms}")
    if getattr(current_app.view_functions.get(request.endpoint), _PLANS_REUSED, False):
        settings.append(PLANS_REUSED_SETTING)
    if settings:
        connection.exec_driver_sql("; ".join(settings))  # one round trip


_PLANS_REUSED = "console_plans_reused"
# Not `auto`: PostgreSQL's own choice kept planning the contract timeline's keys statement for its values
# (the generic plan's estimate for `= ANY($1)` assumes ten keys and costs 946 against 295), at 2.4-2.7 ms
# of planning and up to 3.8 of execution where the generic plan ran in 0.13 + 0.58 (city scale).
PLANS_REUSED_SETTING = "SET LOCAL plan_cache_mode = force_generic_plan"


def plans_reused(view_func):
    """Mark a page whose statements PostgreSQL plans once and reuses (PLANS_REUSED_SETTING for the request;
    every other page keeps force_custom_plan, _custom_plans).

    For a page of one customer: its statements have one shape per panel and read the customer's own keys
    by equality, or newest first one index walk per key (services/params.py), so the plan is the same for
    any customer and planning it again each time was most of PostgreSQL's work (a contract page at city
    scale: 2.3-2.5 ms of planning against 0.6 of execution; reused, 0.1 of planning). psycopg prepares a
    statement on its fifth run on a connection, and from then on it runs with the plan made for any
    values: nothing checks at run time that this plan suits the values. Not for the lists: a filter's
    value decides their plan (a town's beginning planned for any value scanned the whole index). The
    lookup is marked because the values that decide its plans, its patterns, are written into their
    statements (params.planned_for). Before marking a page, bench/generic_plans.py shows each of its
    statements planned both ways, for the customers it serves; none may be flagged."""
    setattr(view_func, _PLANS_REUSED, True)
    return view_func


def _migrations_dir():
    from . import ROOT

    return ROOT / "migrations"


# How long a writer waits for another's transaction on the embedded default before giving up with the
# "busy" page (errors.BUSY): a desk of 30 staff on a loaded machine queues for several seconds.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def _fix_sqlite(engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and defers BEGIN; take it over
    # (the recipe in SQLAlchemy's SQLite dialect documentation).
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    # Every transaction may write (each page that shows a customer writes its audit row), so each one
    # takes the write lock when it begins: a second writer then waits up to busy_timeout for the first
    # to finish. A deferred BEGIN that read first cannot wait (SQLITE_BUSY at once: "database is
    # locked"), whatever busy_timeout says. WAL keeps readers outside transactions unblocked.
    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def configure_i18n(app: Flask) -> None:
    """Japanese UI in Asia/Tokyo; Flask-Admin needs Babel initialised on every app."""
    babel.init_app(app, locale_selector=lambda: "ja", timezone_selector=lambda: clock.TOKYO.key)
    app.config["ADMIN_TRANSLATIONS_DIR"] = _compile_catalogues(app)
    _project_catalogue_wins()
    from . import formats

    app.jinja_env.filters["jdate"] = formats.jdate
    app.jinja_env.filters["jdatetime"] = formats.jdatetime
    app.jinja_env.filters["wareki"] = formats.wareki_month
    app.jinja_env.filters["yen"] = formats.yen
    app.jinja_env.filters["number"] = formats.number
    app.jinja_env.loader = JapaneseAdminBaseLoader(app.jinja_env.loader)


class JapaneseAdminBaseLoader(BaseLoader):
    """The app's template loader, except that Flask-Admin's base template (every console page's layout)
    says its language: it writes a bare <html>, and screen readers and browsers then guess English."""

    def __init__(self, inner: BaseLoader):
        self.inner = inner

    def get_source(self, environment, template):
        source, filename, uptodate = self.inner.get_source(environment, template)
        if template == "admin/base.html":
            source = source.replace("<html>", '<html lang="ja">', 1)
        return source, filename, uptodate

    def list_templates(self):
        return self.inner.list_templates()


def _compile_catalogues(app: Flask) -> str:
    """Compile translations/*.po into the instance folder (a .mo is a build product, not source)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    from . import ROOT

    source = ROOT / "translations"
    target = Path(app.instance_path) / "translations"
    for po_path in source.glob("*/LC_MESSAGES/*.po"):
        mo_path = target / po_path.relative_to(source).with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        tmp = mo_path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        tmp.replace(mo_path)
    return str(target)


def _project_catalogue_wins() -> None:
    # Flask-Babel merges each directory's catalogue over the ones before it, and Flask-Admin lists
    # the project's directory first, so the bundled catalogue would override our corrections.
    # Putting the project's directory last makes its entries win; everything else still falls
    # through to the bundled catalogue.
    from flask_admin import babel as admin_babel

    domain_class = type(admin_babel.domain)
    if getattr(domain_class, "_console_project_last", False):
        return

    class ProjectLastDomain(domain_class):
        _console_project_last = True

        @property
        def translation_directories(self):
            directories = super().translation_directories
            return directories[1:] + directories[:1] if len(directories) > 1 else directories

    admin_babel.domain.__class__ = ProjectLastDomain


# In the signed cookie beside Flask-Login's staff id: the random key of this browser's StaffSession row.
SESSION_KEY = "staff_session"
# Why this browser was signed out (a SessionEndReason value), for the sign-in page to say.
ENDED_KEY = "signed_out_because"


def configure_auth(app: Flask) -> None:
    """Flask-Login backed by server-side sign-in records; CSRF on every POST through one mechanism."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "ログインしてください。"
    login_manager.login_message_category = "warning"
    # Rejects a session whose cookie was moved to another client address or browser.
    login_manager.session_protection = "strong"
    csrf.init_app(app)

    from .services import staff_sessions

    @login_manager.user_loader
    def load_staff(user_id: str):
        # One query on every request: the sign-in record with its staff member and roles. An ended record
        # (signed out elsewhere, by an admin, by a password change, idle too long) signs this browser out.
        if not user_id.isdigit():
            return None
        check = staff_sessions.check_session(int(user_id), session.get(SESSION_KEY))
        if check.ended is not None:
            session.clear()
            session[ENDED_KEY] = check.ended.value
            return None
        if check.session is None:
            return None
        staff = check.session.staff
        # No console page without the second factor, whatever the role (a reset, or a row from before it).
        if not staff.has_second_factor:
            return None
        g.staff_session = check.session
        return staff


def configure_limits(app: Flask) -> None:
    """Sign-in throttling per client address and per e-mail tried (and one's own password change per
    member), counted in Redis when configured.

    A Limiter of the app's own (not a module-level one): init_app would otherwise let the last app
    created in a process decide for every app, whether throttling is on and where it counts.
    A refusal is the Japanese sign-in page, not a bare 429 (console/errors.py).
    """
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address

    from .views.auth import tried_email

    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    limiter = Limiter(key_func=get_remote_address)
    limiter.init_app(app)
    app.extensions["console_limiter"] = limiter  # its limits hold it only weakly
    # Passwords and second-factor codes tried for one account share its limit (shared_limit: one count
    # over the sign-in's steps); each step has the per-address limit of its own.
    per_account = limiter.shared_limit(app.config["LOGIN_LIMIT_PER_ACCOUNT"], scope="login-account",
                                       methods=["POST"], key_func=tried_email)
    for endpoint in ("auth.login", "auth.second_factor", "auth.enrol"):
        view = per_account(app.view_functions[endpoint])
        app.view_functions[endpoint] = limiter.limit(app.config["LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"],
                                                     scope="login-address")(view)
    # Changing one's password proves the current one: an unattended signed-in PC must not become a way to
    # guess it, so tries are counted per member as sign-ins are per account.
    app.view_functions["me.password"] = limiter.limit(
        app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"], scope="own-password",
        key_func=lambda: "own-password:" + (current_user.get_id() or ""))(app.view_functions["me.password"])


# The console's own pages have no inline script; Flask-Admin's few inline scripts carry this nonce.
CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'; form-action 'self'"
)


def csp_nonce() -> str:
    """This request's nonce for the few inline scripts Flask-Admin writes itself."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


class RedactQueryStrings(logging.Filter):
    """Access-log lines without query strings: a lookup's query is a phone number or an e-mail address."""

    _QUERY = re.compile(r'(/[^\s?"]*)\?[^\s"\x1b]*')  # a path's query, up to a space, quote or colour code

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "?" in message:
            record.msg, record.args = self._QUERY.sub(r"\1?…", message), ()
        return True


def configure_requests(app: Flask) -> None:
    """Request ids for the audit trail, the idle timeout, security headers, a clean access log."""
    access_log = logging.getLogger("werkzeug")  # the development server's (make run) access log
    if not any(isinstance(f, RedactQueryStrings) for f in access_log.filters):
        access_log.addFilter(RedactQueryStrings())

    @app.before_request
    def _start_request():
        g.request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        # Loading the member checks their sign-in record, the idle timeout included (services.staff_sessions).
        if current_user.is_authenticated:
            session.permanent = True

    @app.after_request
    def _end_transaction(response):
        # The request's one commit (indico's request handler): a view calls services, which flush;
        # here the work is committed once, or rolled back when the answer is an error. What the services
        # left for after the commit (mails, jobs) runs then; what waits is said as a warning.
        if response.status_code >= 400:
            transaction.rollback()
            return response
        for warning in transaction.commit():
            flash(warning, "warning")
        return response

    @app.errorhandler(DomainError)
    def _refused(exc):
        # A refusal no view caught: nothing is changed, the member of staff sees why on the page they came from.
        transaction.rollback()
        flash(exc.message, "error")
        back = request.referrer
        came_from = urlsplit(back or "")
        # Back to where they came from, unless that is elsewhere or this very page (a refused GET would loop).
        if not back or came_from.netloc != request.host or (
                request.method == "GET" and came_from.path == request.path):
            back = url_for("admin.index")
        return redirect(back, code=303)

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", CSP.format(nonce=csp_nonce()))
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if browser_signed_in() and not request.path.startswith(("/static/", "/admin/static/")):
            # Customer data must not stay in a shared PC's browser cache.
            response.headers["Cache-Control"] = "no-store"
        return response
