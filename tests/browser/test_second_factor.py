"""End to end in headless Chromium: a member's first sign-in enrols the second factor from the page."""

from __future__ import annotations

import pyotp
import pytest

from console import clock

pytestmark = pytest.mark.browser


def test_first_sign_in_enrols_from_the_qr_page_and_shows_the_recovery_codes(browser, new_staff):
    email, password = new_staff("operator", enrolled=False)
    browser.open("/lookup/")
    browser.wait(lambda _d: browser.path.startswith("/login?next="), "anonymous user not sent to sign in")
    browser.find("input[name=email]").send_keys(email)
    browser.find("input[name=password]").send_keys(password)
    browser.submit(browser.button("ログイン"))

    assert browser.path == "/login/enrol"
    qr = browser.find("[data-testid=totp-qr] svg")
    assert qr.size["width"] > 100 and qr.size["height"] > 100  # drawn, at a size a phone can read
    secret = browser.find("[data-testid=totp-secret]").text.replace(" ", "")
    assert len(secret) == 32
    # Nothing of the console opens before the code is given.
    browser.open("/lookup/")
    browser.wait(lambda _d: browser.path.startswith("/login?next="), "a console page opened before enrolment")
    browser.open("/login/enrol")
    assert browser.find("[data-testid=totp-secret]").text.replace(" ", "") == secret  # the same secret again

    browser.find("input[name=code]").send_keys(pyotp.TOTP(secret).at(clock.now()))
    browser.submit(browser.button("登録"))
    codes = [c.text for c in browser.find_all("[data-testid=recovery-codes] code")]
    assert len(codes) == 10 and all(len(c) == 14 for c in codes)
    browser.submit(browser.link("控えました。業務コンソールへ進む"))
    assert browser.path == "/lookup/"
    assert "ブラウザ試験 operator" in browser.find("[data-testid=signed-in-as]").text

    # The next sign-in asks for a code; a recovery code answers it once.
    browser.sign_out()
    browser.open("/login")
    browser.find("input[name=email]").send_keys(email)
    browser.find("input[name=password]").send_keys(password)
    browser.submit(browser.button("ログイン"))
    browser.find("input[name=code]").send_keys(codes[0])
    browser.submit(browser.button("確認"))
    assert "残り9個" in browser.wait_for_text("リカバリーコードを使用しました")
