"""End to end in headless Chromium: a member of staff opens 「サインイン中の端末」 from their name, signs
out a phone they left signed in, and changes their password (issue 16)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import TOTP_SECRET
from tests.conftest import sign_in

pytestmark = pytest.mark.browser

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/18.1 Mobile/15E148 Safari/604.1")


def test_sign_out_another_device_and_change_the_password(browser, new_staff, browser_app):
    email, password = new_staff("operator")
    phone = browser_app.test_client()
    phone.environ_base.update(HTTP_USER_AGENT=IPHONE, REMOTE_ADDR="198.51.100.7")
    assert sign_in(phone, email, password, secret=TOTP_SECRET).status_code == 302

    browser.open("/login")
    browser.sign_in(email, password)
    browser.submit(browser.find("[data-testid=signed-in-as]"))
    assert browser.path == "/me/"
    this_one = browser.find("[data-testid=this-session]")
    assert "この端末" in this_one.text and "Chrome" in this_one.text
    table = browser.find("[data-testid=own-sessions]")
    assert "iPhone の Safari" in table.text and "198.51.100.7" in table.text

    phone_row = next(row for row in table.find_elements("css selector", "tbody tr") if "iPhone" in row.text)
    browser.submit(browser.button("この端末をサインアウト", within=phone_row))
    assert "その端末をサインアウトしました。" in browser.flashes()[0]
    assert "iPhone" not in browser.find("[data-testid=own-sessions]").text
    refused = phone.get("/")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")
    assert "別の端末から終了しました" in phone.get("/login").get_data(as_text=True)

    browser.submit(browser.link("パスワードの変更"))
    new_password = "lantern-harbour-maple-2026"
    for name, value in (("current_password", "not-my-password"), ("password", new_password),
                        ("password_confirm", new_password)):
        browser.find(f"input[name={name}]").send_keys(value)
    browser.submit(browser.button("パスワードを変更する"))
    assert "現在のパスワードが正しくありません。" in browser.body_text()
    for name, value in (("current_password", password), ("password", new_password), ("password_confirm", new_password)):
        field = browser.find(f"input[name={name}]")
        field.clear()
        field.send_keys(value)
    browser.submit(browser.button("パスワードを変更する"))
    assert browser.path == "/me/"
    assert "パスワードを変更しました。" in browser.body_text()

    browser.sign_out()
    browser.sign_in(email, new_password)
