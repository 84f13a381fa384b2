"""Japanese error pages (issue 15): every refusal keeps its status and says, in Japanese and in the layout
it belongs to, what happened, what to do next and how to get home; nothing of Werkzeug's English page."""

from __future__ import annotations

import re

import pytest
from flask import abort

from console.errors import CSRF_EXPIRED, MESSAGES
from console.extensions import db
from tests.conftest import csrf_token

STATUSES = [400, 403, 404, 405, 413, 429, 500]
# Werkzeug's English pages: titles and the sentences of their descriptions.
ENGLISH = re.compile(
    r"Bad Request|Forbidden|Not Found|Method Not Allowed|Request Entity Too Large|Content Too Large|"
    r"Too Many Requests|Internal Server Error|The requested URL|The server|You don't have|The browser"
)
SECRET = "secret-traceback-marker"

# who → (endpoint whose view fails, URL that reaches it)
WHERE = {
    "anonymous": ("auth.login", "/login"),
    "operator": ("admin.index", "/"),
    "public": ("public.index", "/public/"),
}


def _fail(status):
    def view(*_args, **_kwargs):
        if status == 500:
            raise RuntimeError(SECRET)
        abort(status)

    return view


def _assert_japanese_page(response, status):
    body = response.get_data(as_text=True)
    assert response.status_code == status, body
    assert response.mimetype == "text/html"
    assert '<html lang="ja">' in body
    assert MESSAGES[status][0] in body and MESSAGES[status][1] in body
    assert not ENGLISH.search(body), ENGLISH.search(body)
    assert SECRET not in body
    return body


@pytest.mark.parametrize("who", list(WHERE))
@pytest.mark.parametrize("status", STATUSES)
def test_every_status_is_a_japanese_page_in_its_layout(app, client, login_as, monkeypatch, who, status):
    if who == "operator":
        staff = login_as("operator")
    endpoint, url = WHERE[who]
    monkeypatch.setitem(app.view_functions, endpoint, _fail(status))
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # a real server's 500, not the test's raise
    body = _assert_japanese_page(client.get(url), status)
    if who == "public":
        assert 'href="/public/"' in body and "断水・応急給水情報" in body
        assert "ログアウト" not in body and "水道お客さまセンター" not in body and "navbar" not in body
    elif who == "operator":
        assert 'data-testid="error-home">ホームへ戻る' in body and 'href="/"' in body
        assert staff.name in body and "ログアウト" in body and "navbar" in body  # the console's layout
    else:
        assert 'href="/login" data-testid="error-home">ログイン画面へ' in body
        assert "navbar" in body and "ログアウト" not in body


def test_real_refusals_land_on_the_pages(client, login_as):
    """Routing's 404 and 405, Flask-Admin's 403 (inaccessible_callback) and the boundary's Japanese 400."""
    _assert_japanese_page(client.get("/no-such-page"), 404)
    _assert_japanese_page(client.get("/public/no-such-page"), 404)
    login_as("operator")
    _assert_japanese_page(client.get("/no-such-page"), 404)
    _assert_japanese_page(client.get("/staff/"), 403)
    _assert_japanese_page(client.get("/logout"), 405)
    body = _assert_japanese_page(client.get("/lookup/?q=a%01b"), 400)
    assert "入力に使えない制御文字が含まれています。" in body


def test_an_error_rolls_the_request_back(app, client, login_as, monkeypatch):
    """The error pages' responses still pass through the request's one commit-or-rollback (console.web)."""
    from console.models import Staff

    staff = login_as("operator")

    def rename_then_fail():
        db.session.get(Staff, staff.id).name = "変更されない名前"
        db.session.flush()
        abort(404)

    monkeypatch.setitem(app.view_functions, "admin.index", rename_then_fail)
    assert client.get("/").status_code == 404
    db.session.expire_all()
    assert db.session.get(Staff, staff.id).name != "変更されない名前"


def test_an_expired_form_says_so_and_offers_the_input_again(client, login_as):
    login_as("operator")
    page = "http://localhost/registration-check/"
    response = client.post("/registration-check/?x=1", data={"q": "高橋 一郎", "csrf_token": "expired"},
                           headers={"Referer": page})
    body = _assert_japanese_page(response, 400)
    assert CSRF_EXPIRED in body
    assert f'href="{page}" data-testid="error-back"' in body
    assert 'name="q" value="高橋 一郎"' in body and 'action="/registration-check/?x=1"' in body
    assert 'value="expired"' not in body  # a fresh token, not the stale one
    assert re.search(r'name="csrf_token" value="[^"]{20,}"', body)


def test_an_expired_form_from_elsewhere_offers_no_input(client, login_as):
    """A form posted from another site does not become a filled-in button on the console."""
    login_as("operator")
    response = client.post("/registration-check/", data={"q": "x", "csrf_token": "bad"}, headers={"Referer": "https://evil.example/"})
    body = _assert_japanese_page(response, 400)
    assert CSRF_EXPIRED in body and "evil.example" not in body and 'data-testid="resend"' not in body


def test_expired_sign_in_form_keeps_no_password(client):
    csrf_token(client, "/login")
    response = client.post("/login", data={"email": "a@example.jp", "password": "secret-pw", "csrf_token": "x"},
                           headers={"Referer": "http://localhost/login"})
    body = _assert_japanese_page(response, 400)
    assert "secret-pw" not in body and 'value="a@example.jp"' in body


def test_expired_password_change_form_keeps_no_password(client, login_as):
    login_as("operator")
    response = client.post("/me/password", data={"current_password": "old-secret-pw", "password": "new-secret-pw",
                                                 "password_confirm": "new-secret-pw", "csrf_token": "x"},
                           headers={"Referer": "http://localhost/me/password"})
    body = _assert_japanese_page(response, 400)
    assert CSRF_EXPIRED in body and "secret-pw" not in body


def test_console_pages_say_they_are_japanese(client, login_as):
    login_as("operator")
    assert '<html lang="ja">' in client.get("/").get_data(as_text=True)
