"""Security of the console (issue 9): sign-in throttling, headers, session fixation, no personal data in logs."""

from __future__ import annotations

import logging
import re
import uuid

import pytest

from console import clock, create_app
from console.extensions import db
from tests import factories
from tests.conftest import csrf_token, sign_in


def _throttled_app(app, storage_uri: str, **limits):
    """A second app on the same (already migrated) database, with sign-in throttling on."""
    return create_app({
        "TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": None, "MAIL_SERVER": None, "OUTBOX_DIR": app.config["OUTBOX_DIR"], "FILES_DIR": app.config["FILES_DIR"],
        "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": storage_uri,
        "LOGIN_LIMIT_PER_ACCOUNT": limits.get("account", "3 per minute"),
        "LOGIN_LIMIT_PER_ADDRESS": limits.get("address", "6 per minute"),
    })


def _committed_operator(database_url: str, email: str) -> None:
    """An operator with factories.PASSWORD and TOTP_SECRET, committed: the second app has its own connections."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.begin() as conn:
        staff_id = conn.execute(text(
            "INSERT INTO staff (email, name, password_hash, active, failed_logins, created_at, "
            "totp_secret, totp_enrolled_at) VALUES (:e, '職員', :h, true, 0, :now, :t, :now) "
            "RETURNING id"), {"e": email, "h": factories._HASH, "t": factories.TOTP_SECRET, "now": clock.now()}).scalar_one()
        conn.execute(text("INSERT INTO staff_role (staff_id, role) VALUES (:s, 'operator')"), {"s": staff_id})
    engine.dispose()


def _try(client, email: str, address: str = "192.0.2.10"):
    page = client.get("/login", environ_base={"REMOTE_ADDR": address})
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post("/login", data={"email": email, "password": "wrong-password", "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def test_sign_in_is_throttled_per_account_and_per_address_on_redis(app, redis_url):
    from redis import Redis

    Redis.from_url(redis_url).flushdb()
    throttled = _throttled_app(app, redis_url)
    client = throttled.test_client()
    # Per account: the fourth try at one address within a minute is refused, however it is typed.
    for email in ("target@example.jp", "TARGET@example.jp", " target@ｅｘａｍｐｌｅ.jp"):
        assert _try(client, email).status_code == 200
    refused = _try(client, "target@example.jp", address="192.0.2.99")  # another address does not help
    assert refused.status_code == 429
    assert "ログインの試行回数が多すぎます" in refused.get_data(as_text=True)
    # Per address: many accounts from one address.
    statuses = [_try(client, f"user{i}@example.jp", address="198.51.100.7").status_code for i in range(7)]
    assert statuses == [200] * 6 + [429]
    # The counts live in Redis, so every web process sees them: a second app refuses too.
    other = _throttled_app(app, redis_url).test_client()
    assert _try(other, "target@example.jp", address="203.0.113.5").status_code == 429
    assert any(key.startswith(b"LIMITS") for key in Redis.from_url(redis_url).keys("*"))


def test_guessing_the_current_password_on_the_change_form_is_throttled(app, redis_url):
    from redis import Redis

    Redis.from_url(redis_url).flushdb()
    client = _throttled_app(app, redis_url).test_client()
    email = f"throttle-own-{uuid.uuid4().hex[:8]}@example.jp"
    _committed_operator(app.config["SQLALCHEMY_DATABASE_URI"], email)
    assert sign_in(client, email, factories.PASSWORD).status_code == 302
    token = csrf_token(client, "/me/password")
    tries = [client.post("/me/password", data={"csrf_token": token, "current_password": f"guess-{n}",
                                               "password": "lantern-harbour-maple-2026",
                                               "password_confirm": "lantern-harbour-maple-2026"}).status_code
             for n in range(4)]
    assert tries == [200, 200, 200, 429]
    assert client.get("/").status_code == 200  # throttled, not signed out


def test_sign_in_works_while_the_limiter_storage_is_down(app, database_url):
    email = f"{uuid.uuid4().hex[:12]}@example.jp"
    _committed_operator(database_url, email)
    throttled = _throttled_app(app, "redis://127.0.0.1:1/0")  # nothing listens on port 1
    client = throttled.test_client()
    assert _try(client, email).status_code == 200  # a wrong password: the form again, not an error
    assert sign_in(client, email, factories.PASSWORD).status_code == 302


@pytest.mark.parametrize("path", ["/", "/lookup/", "/staff/new/", "/applications/", "/audit/"])
def test_content_security_policy_allows_no_inline_script_without_the_nonce(client, login_as, path):
    login_as("admin", "operator", "supervisor")
    response = client.get(path)
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert "script-src 'self' 'nonce-" in policy and "unsafe-inline" not in policy.split("style-src")[0]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    html = response.get_data(as_text=True)
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or f'nonce="{nonce}"' in tag, tag
    assert not re.search(r"\son(click|load|submit|change)=", html)
    # A new nonce on every response.
    assert re.search(r"'nonce-([^']+)'", client.get(path).headers["Content-Security-Policy"]).group(1) != nonce


def test_sign_in_page_has_the_policy_too(client):
    response = client.get("/login")
    assert "script-src 'self' 'nonce-" in response.headers["Content-Security-Policy"]
    assert "<script" not in response.get_data(as_text=True)


def test_security_headers_and_hsts_only_behind_tls(client, login_as):
    login_as("operator")
    plain = client.get("/lookup/")
    assert plain.headers["X-Frame-Options"] == "DENY"
    assert plain.headers["X-Content-Type-Options"] == "nosniff"
    assert plain.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in plain.headers
    secure = client.get("/lookup/", base_url="https://console.example.jp")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_customer_pages_are_not_stored_by_the_browser(client, login_as):
    contract = factories.contract()
    db.session.commit()
    login_as("operator")
    response = client.get(f"/customer/contract/{contract.id}")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"


def test_session_fixation_nothing_from_before_sign_in_survives(client):
    staff = factories.staff("operator")
    db.session.commit()
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by-an-attacker"
        before = dict(session)
    sign_in(client, staff.email, factories.PASSWORD)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("_user_id") == str(staff.id) and session.get("staff_session")
        assert session.get("_id") != before.get("_id")


def test_csrf_token_of_another_session_is_refused(client, app):
    staff = factories.staff("operator")
    db.session.commit()
    other = app.test_client()
    foreign_token = csrf_token(other, "/login")
    sign_in(client, staff.email, factories.PASSWORD)
    response = client.post("/logout", data={"csrf_token": foreign_token})
    assert response.status_code == 400


class _Browser:
    """A cookie-keeping HTTP client for a real server (urllib: nothing to install)."""

    def __init__(self, base: str):
        import http.cookiejar
        import urllib.request

        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path) as response:
            return response.read().decode()

    def post(self, path: str, data: dict, token_from: str) -> int:
        import urllib.parse

        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', self.get(token_from)).group(1)
        body = urllib.parse.urlencode({**data, "csrf_token": token}).encode()
        with self.opener.open(self.base + path, data=body) as response:
            return response.status


def test_no_personal_data_in_the_log_of_a_desk_scenario(app, database, caplog, smtp_server):
    """Over a real HTTP server: sign in, look up by phone, e-mail and kana, open the customer, reveal,
    unlock, reset the password. Neither the access log nor the console's own log holds the customer."""
    import threading
    import urllib.parse

    from werkzeug.serving import make_server

    operator = factories.staff("operator")
    contract = factories.contract(contract_phone="06-6111-2233", holder_name="秘密 花子", holder_kana="ヒミツ ハナコ")
    account = factories.account(email="secret.hanako@example.jp", sms_phone="090-8765-4321",
                                locked_at=clock.now(), failed_login_count=5, name="秘密 花子")
    factories.link(account, contract, main=True)
    db.session.commit()
    caplog.set_level(logging.DEBUG)
    server = make_server("127.0.0.1", 0, app)  # one request at a time: it shares the test's transaction
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        browser = _Browser(f"http://127.0.0.1:{server.server_port}")
        browser.post("/login", {"email": operator.email, "password": factories.PASSWORD}, token_from="/login")
        browser.post("/login/code", {"code": factories.totp_code()}, token_from="/login/code")
        for query in ("０６－６１１１－２２３３", "090-8765-4321", "SECRET.HANAKO@example.jp", "ヒミツ"):
            assert "秘密" in browser.get("/lookup/?" + urllib.parse.urlencode({"q": query}))
        browser.get("/lookup/?" + urllib.parse.urlencode({"phone": "09087654321"}))  # the screen pop
        page = f"/customer/account/{account.id}"
        assert "秘密" in browser.get(page)
        for action, data in (("identity", {"method": "registered_phone"}),
                             ("reveal", {"field": "email", "reason": "本人確認のため"}),
                             ("unlock", {"reason": "本人から電話"}), ("password-reset", {"reason": "本人から電話"})):
            assert browser.post(f"{page}/{action}", data, token_from=page) == 200
    finally:
        server.shutdown()
        thread.join()
    assert smtp_server.messages  # the scenario really ran to the mail
    # Everything the console, the server and the libraries logged; the loopback SMTP server's own
    # protocol trace ("mail.log", standing in for the mail relay) is the receiving side.
    logged = "\n".join(record.getMessage() for record in caplog.records if not record.name.startswith("mail.log"))
    assert '"GET /lookup/?' in logged and "/customer/account/" in logged  # the access log was captured
    for secret in ("6111", "61112233", "8765", "87654321", "secret.hanako", "SECRET.HANAKO", "秘密", "ヒミツ",
                   urllib.parse.quote("ヒミツ"), "%EF%BC%90%EF%BC%96"):
        assert secret not in logged, secret


def test_each_app_keeps_its_own_throttling(app, redis_url):
    """A second app in the process (throttling on) leaves the suite's app (throttling off) as it was."""
    throttled = _throttled_app(app, "memory://", account="1 per minute")
    assert _try(throttled.test_client(), "own@example.jp").status_code == 200
    assert _try(throttled.test_client(), "own@example.jp").status_code == 429
    plain = app.test_client()
    assert [_try(plain, "own@example.jp").status_code for _ in range(3)] == [200, 200, 200]
