"""The embedded default under a desk's load: `make run`'s SQLite and threaded server, many staff at once.

Every page that shows a customer writes its audit row, so every request writes: two requests at the
same moment must queue for SQLite's write lock (BEGIN IMMEDIATE + busy_timeout), never fail with
"database is locked". The console runs in a real server process, as `make run` serves it.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar

import pytest
from sqlalchemy import create_engine, text

from console import create_app
from console.extensions import db
from tests import factories

SIGN_INS = 16
SESSIONS = 8
REQUESTS = 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Desk:
    """One member of staff's browser: a cookie jar and the requests it sends."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str, request_id: str | None = None) -> tuple[int, str]:
        headers = {"X-Request-ID": request_id} if request_id else {}
        return self._open(urllib.request.Request(self.base + path, headers=headers))

    def sign_in(self, email: str) -> tuple[int, str]:
        _, page = self.get("/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"email": email, "password": factories.PASSWORD, "csrf_token": token})
        status, page = self._open(urllib.request.Request(self.base + "/login", data=form.encode(), method="POST"))
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        if status != 200 or 'name="code"' not in page or match is None:
            return status, page  # refused: the sign-in page again
        # The second step (the redirect was followed): the code an authenticator shows now.
        form = urllib.parse.urlencode({"code": factories.totp_code(), "csrf_token": match.group(1)})
        return self._open(urllib.request.Request(self.base + "/login/code", data=form.encode(), method="POST"))

    def _open(self, request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")


@pytest.fixture()
def embedded_console(tmp_path):
    """A SQLite file with staff and customers, and the console serving it in a threaded server process."""
    url = f"sqlite:///{tmp_path / 'console.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "embedded", "REDIS_URL": None,
                      "OUTBOX_DIR": str(tmp_path / "outbox")})
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        staff = [factories.staff("operator", name="同時 職員") for _ in range(SIGN_INS)]
        targets = []
        for n in range(10):
            contract = factories.contract(contract_phone=f"06-6000-{n:04d}")
            account = factories.account()
            factories.link(account, contract, main=True)
            targets += [f"/customer/account/{account.id}", f"/customer/contract/{contract.id}",
                        "/lookup/?" + urllib.parse.urlencode({"q": contract.customer_number}),
                        "/lookup/?" + urllib.parse.urlencode({"q": f"０６－６０００－{n:04d}"})]
        emails = [s.email for s in staff]
        db.session.commit()
        db.session.remove()
        db.engine.dispose()

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSOLE_") or k == "CONSOLE_TEST_CLOCK_OFFSET"}
    env.update(CONSOLE_DATABASE_URL=url, CONSOLE_INSTANCE_PATH=str(tmp_path / "instance"), CONSOLE_SECRET_KEY="embedded")
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.travel", "flask", "--app", "console", "run", "--host", "127.0.0.1",
         "--port", str(port), "--with-threads", "--no-reload"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the console did not start:\n" + (tmp_path / "server.log").read_text())
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", emails, targets, url
    finally:
        server.terminate()
        server.wait(10)
        log.close()


def test_a_desk_of_staff_at_once_on_the_embedded_default(embedded_console):
    base, emails, targets, url = embedded_console
    desks = [Desk(base) for _ in emails]
    start = threading.Barrier(SIGN_INS, timeout=60)

    def sign_in(pair):
        desk, email = pair
        start.wait()
        return desk.sign_in(email)

    with ThreadPoolExecutor(SIGN_INS) as pool:
        signed_in = list(pool.map(sign_in, zip(desks, emails, strict=True)))
    assert [status for status, _ in signed_in] == [200] * SIGN_INS
    assert all("ログアウト" in body for _, body in signed_in)

    requests = [(desks[n % SESSIONS], targets[n % len(targets)], uuid.uuid4().hex) for n in range(REQUESTS)]
    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(lambda r: (r[1], r[0].get(r[1], r[2])), requests))
    failed = [(path, status, body[:300]) for path, (status, body) in answers if status != 200]
    assert failed == []

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            audited = set(conn.execute(text(
                "SELECT request_id FROM audit_event WHERE action IN ('customer.view', 'lookup.search')")).scalars())
    finally:
        engine.dispose()
    assert {request_id for _, _, request_id in requests} <= audited


def test_a_writer_that_waits_past_busy_timeout_gets_the_busy_page(tmp_path, monkeypatch):
    """Another transaction holds the embedded database's write lock for longer than busy_timeout: the page
    says the desk is busy and to try again (503 in the console's layout), not a 500; then it answers."""
    import sqlite3

    from console import web
    from console.errors import BUSY
    from tests.conftest import IsolatedClient, sign_in

    monkeypatch.setattr(web, "SQLITE_BUSY_TIMEOUT_MS", 300)  # read as each connection opens
    path = tmp_path / "console.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "busy", "REDIS_URL": None,
                      "OUTBOX_DIR": str(tmp_path / "outbox"), "RATELIMIT_ENABLED": False, **factories.TEST_HASH_COST})
    app.test_client_class = IsolatedClient
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        member = factories.staff("operator", name="混雑 確認")
        contract = factories.contract()
        email, page = member.email, f"/customer/contract/{contract.id}"
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    assert sign_in(client, email, factories.PASSWORD).status_code == 302

    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        busy = client.get(page)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    body = busy.get_data(as_text=True)
    assert busy.status_code == 503
    assert BUSY[0] in body and BUSY[1] in body and "ホームへ戻る" in body
    assert "水道お客さまセンター" in body and "navbar" in body  # the console's layout
    assert "database is locked" not in body
    assert client.get(page).status_code == 200
    with app.app_context():
        db.engine.dispose()
