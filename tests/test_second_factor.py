"""The second factor of staff sign-in (issue 16), through the real forms: enrolment at the first sign-in
(an inline SVG QR code and the secret), the code step, codes accepted once, recovery codes, wrong codes
that lock, an admin's reset, and the command line."""

from __future__ import annotations

import re
from email import message_from_bytes, policy

import pyotp
from sqlalchemy import select

from console import clock
from console.extensions import db
from console.models import AuditEvent, Staff, StaffRecoveryCode
from console.seed.demo import DEMO_STAFF, DEMO_TOTP_SECRETS
from console.services import second_factor
from console.services import staff as staff_service
from tests import factories
from tests.conftest import csrf_token, outbox_files, sign_in
from tests.test_access import _rules


def _password(client, staff, password: str = factories.PASSWORD, path: str = "/login"):
    return client.post(path, data={"email": staff.email, "password": password,
                                   "csrf_token": csrf_token(client, "/login")})


def _code(client, code: str, path: str = "/login/code"):
    return client.post(path, data={"code": code, "csrf_token": csrf_token(client, "/login")})


def _actions(staff) -> list[str]:
    # About the member, or done as the member (a sign-in is audited on its session record).
    about = (AuditEvent.target_type == "staff") & (AuditEvent.target_id == str(staff.id))
    return db.session.scalars(select(AuditEvent.action).where(about | (AuditEvent.staff_id == staff.id))
                              .order_by(AuditEvent.id)).all()


def _signed_in(client) -> bool:
    return client.get("/").status_code == 200


def _enrol(client, staff) -> list[str]:
    """Enrol through the real page: read the secret from it, answer with its code; the recovery codes."""
    assert _password(client, staff).headers["Location"] == "/login/enrol"
    page = client.get("/login/enrol").get_data(as_text=True)
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    answer = _code(client, pyotp.TOTP(secret).at(clock.now()), "/login/enrol")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return re.findall(r"<li><code>([a-z2-9-]+)</code></li>", answer.get_data(as_text=True))


def test_enrolment_at_first_sign_in_shows_an_inline_qr_code_and_the_secret(client):
    staff = factories.staff("operator", enrolled=False)
    db.session.commit()
    response = _password(client, staff)
    assert response.status_code == 302 and response.headers["Location"] == "/login/enrol"
    assert not _signed_in(client)  # the password alone opens nothing

    page = client.get("/login/enrol")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    svg = re.search(r"<svg\b.*?</svg>", html, re.S)
    assert svg and 'class="segno"' in svg.group(0)  # drawn by segno, in the page itself
    assert "data:" not in html and "<script" not in html and "<img" not in html
    assert "script-src 'self' 'nonce-" in page.headers["Content-Security-Policy"]
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    db.session.refresh(staff)
    assert secret == staff.totp_secret and len(secret) == 32
    assert 'name="code"' in html
    # The same secret on a reload (the member may already have scanned it).
    assert secret.replace(" ", "") in client.get("/login/enrol").get_data(as_text=True).replace(" ", "")

    wrong = _code(client, "000000" if pyotp.TOTP(secret).at(clock.now()) != "000000" else "111111", "/login/enrol")
    assert wrong.status_code == 200 and "確認コードが正しくありません" in wrong.get_data(as_text=True)
    assert not _signed_in(client)

    done = _code(client, pyotp.TOTP(secret).at(clock.now()), "/login/enrol")
    body = done.get_data(as_text=True)
    assert done.status_code == 200 and "二要素認証を登録しました" in body
    codes = re.findall(r"<li><code>([a-z2-9-]+)</code></li>", body)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert done.headers["Cache-Control"] == "no-store"
    assert _signed_in(client)

    db.session.refresh(staff)
    assert staff.has_second_factor
    stored = db.session.scalars(select(StaffRecoveryCode.code_hash).where(StaffRecoveryCode.staff_id == staff.id)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # hashes only
    assert all(code.replace("-", "") not in "".join(stored) for code in codes)
    actions = _actions(staff)
    assert actions[-3:] == ["staff.second_factor_refused", "staff.second_factor_enrolled", "staff.login"]


def test_until_enrolled_no_console_page_opens_for_any_role(client):
    staff = factories.staff("admin", "operator", "supervisor", "disaster_coordinator", enrolled=False)
    db.session.commit()
    _password(client, staff)
    client.get("/login/enrol")
    for rule in _rules(client.application):
        if "GET" not in rule.methods or rule.arguments or rule.endpoint.startswith(
                ("static", "admin.static", "public.", "health.", "auth.")):
            continue
        response = client.get(rule.rule)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), rule.rule
    # Nor can the code step be used to skip enrolment.
    assert client.get("/login/code").headers["Location"] == "/login/enrol"
    assert _code(client, factories.totp_code()).headers["Location"] == "/login/enrol"


def test_a_member_whose_second_factor_is_gone_is_signed_out(client):
    staff = factories.staff("operator")
    db.session.commit()
    assert sign_in(client, staff.email, factories.PASSWORD).status_code == 302
    assert _signed_in(client)
    staff.totp_enrolled_at = None  # a row from before the second factor existed, say
    db.session.commit()
    assert client.get("/").headers["Location"].startswith("/login")


def test_sign_in_with_a_code_and_the_same_code_is_refused_the_second_time(client):
    staff = factories.staff("supervisor")
    db.session.commit()
    response = _password(client, staff, path="/login?next=/applications/")
    assert response.headers["Location"] == "/login/code"
    page = client.get("/login/code").get_data(as_text=True)
    assert 'name="code"' in page and "<script" not in page
    code = factories.totp_code()
    response = _code(client, code)
    assert response.status_code == 302 and response.headers["Location"] == "/applications/"
    assert _signed_in(client)
    client.post("/logout", data={"csrf_token": csrf_token(client)})

    _password(client, staff)
    again = _code(client, code)
    assert again.status_code == 200 and second_factor.USED_CODE in again.get_data(as_text=True)
    assert not _signed_in(client)
    refused = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "staff.second_factor_refused", AuditEvent.target_id == str(staff.id))).all()
    assert [e.detail["reused"] for e in refused] == [True]
    # The next code works.
    assert _code(client, factories.totp_code(step_offset=1)).status_code == 302
    assert _signed_in(client)
    assert _actions(staff).count("staff.login") == 2


def test_codes_one_step_either_side_of_now_and_no_further(client):
    staff = factories.staff("operator")
    db.session.commit()
    _password(client, staff)
    for offset in (-3, -2, 2, 3):
        response = _code(client, factories.totp_code(step_offset=offset))
        assert second_factor.WRONG_CODE in response.get_data(as_text=True), offset
    assert _code(client, factories.totp_code(step_offset=-1)).status_code == 302


def test_a_full_width_code_with_spaces_is_read(client):
    staff = factories.staff("operator")
    db.session.commit()
    _password(client, staff)
    code = factories.totp_code()
    typed = " ".join([code[:3], code[3:]]).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert _code(client, typed).status_code == 302


def test_a_recovery_code_works_once(client):
    staff = factories.staff("operator", enrolled=False)
    db.session.commit()
    codes = _enrol(client, staff)
    client.post("/logout", data={"csrf_token": csrf_token(client)})

    _password(client, staff)
    used = _code(client, codes[3].upper())  # however it is typed
    assert used.status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert "リカバリーコードを使用しました（残り9個）" in home
    assert second_factor.unused_recovery_codes(staff) == 9
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "staff.recovery_code_used")).one()
    assert event.target_id == str(staff.id) and event.detail == {"unused_left": 9}
    client.post("/logout", data={"csrf_token": csrf_token(client)})

    _password(client, staff)
    again = _code(client, codes[3])
    assert again.status_code == 200 and second_factor.WRONG_CODE in again.get_data(as_text=True)
    assert not _signed_in(client)
    assert _code(client, codes[4]).status_code == 302


def test_too_many_wrong_codes_end_the_sign_in_and_lock_the_account(client, app):
    staff = factories.staff("operator")
    db.session.commit()
    threshold = app.config["STAFF_LOCK_THRESHOLD"]
    right = factories.totp_code()
    wrong = next(c for c in ("123456", "654321", "111111") if c != right and c != factories.totp_code(step_offset=1)
                 and c != factories.totp_code(step_offset=-1))
    _password(client, staff)
    for _ in range(threshold - 1):
        response = _code(client, wrong)
        assert response.status_code == 200 and second_factor.WRONG_CODE in response.get_data(as_text=True)
    response = _code(client, wrong)
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert second_factor.ATTEMPTS_EXHAUSTED in page
    # The pending sign-in is gone: the right code now leads back to the password.
    assert _code(client, right).headers["Location"] == "/login"
    assert not _signed_in(client)
    db.session.refresh(staff)
    assert staff.is_locked and staff.second_factor_failures == threshold
    mails = [message_from_bytes(f.read_bytes(), policy=policy.default) for f in outbox_files(app)]
    locked = [m for m in mails if m["To"] == staff.email]
    assert len(locked) == 1 and "確認コード" in locked[0].get_body().get_content()
    assert _actions(staff).count("staff.second_factor_refused") == threshold
    # Locked: even the right password is refused with the usual words, until an admin unlocks.
    assert "メールアドレスまたはパスワードが正しくありません" in _password(client, staff).get_data(as_text=True)
    staff_service.unlock_staff(None, staff, reason="本人の入力誤り")  # flask staff unlock
    db.session.commit()
    assert staff.second_factor_failures == 0 and not staff.is_locked
    assert sign_in(client, staff.email, factories.PASSWORD).status_code == 302


def test_an_expired_pending_sign_in_asks_for_the_password_again(client):
    staff = factories.staff("operator")
    db.session.commit()
    _password(client, staff)
    with client.session_transaction() as session:
        session["pending_sign_in"] = {**session["pending_sign_in"], "at": session["pending_sign_in"]["at"] - 11 * 60}
    response = _code(client, factories.totp_code())
    assert response.headers["Location"] == "/login"
    assert "もう一度メールアドレスとパスワードを入力してください" in client.get("/login").get_data(as_text=True)
    assert not _signed_in(client)


def test_an_admin_resets_a_second_factor_and_the_member_enrols_again(client, login_as, app):
    member = factories.staff("operator")
    db.session.commit()
    member_client = app.test_client()
    assert sign_in(member_client, member.email, factories.PASSWORD).status_code == 302
    assert _signed_in(member_client)

    admin = login_as("admin")
    details = client.get(f"/staff/details/?id={member.id}").get_data(as_text=True)
    assert f"/staff/{member.id}/second-factor" in details
    page = client.get(f"/staff/{member.id}/second-factor")
    assert page.status_code == 200 and "登録済み" in page.get_data(as_text=True)
    token = csrf_token(client, f"/staff/{member.id}/second-factor")
    refused = client.post(f"/staff/{member.id}/second-factor", data={"reason": "  ", "csrf_token": token})
    assert "リセットの理由を入力してください" in refused.get_data(as_text=True)
    db.session.refresh(member)
    assert member.has_second_factor

    done = client.post(f"/staff/{member.id}/second-factor",
                       data={"reason": "スマートフォンの機種変更", "csrf_token": token}, follow_redirects=True)
    assert "二要素認証をリセットしました" in done.get_data(as_text=True)
    db.session.refresh(member)
    assert not member.has_second_factor and member.totp_secret is None
    assert db.session.scalars(select(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == member.id)).all() == []
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "staff.second_factor_reset")).one()
    assert (event.staff_id, event.target_id, event.reason) == (admin.id, str(member.id), "スマートフォンの機種変更")
    assert not _signed_in(member_client)  # the member's session ended

    # The next sign-in enrols again; the old authenticator's code is no use.
    assert sign_in(member_client, member.email, factories.PASSWORD).headers["Location"] == "/login/enrol"
    assert _code(member_client, factories.totp_code(step_offset=1), "/login/enrol").status_code == 200
    assert not _signed_in(member_client)
    assert len(_enrol(app.test_client(), member)) == 10


def test_an_admin_cannot_reset_their_own_second_factor(client, login_as):
    admin = login_as("admin")
    token = csrf_token(client, f"/staff/{admin.id}/second-factor")
    response = client.post(f"/staff/{admin.id}/second-factor", data={"reason": "紛失", "csrf_token": token})
    assert "自分自身の二要素認証はリセットできません" in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.has_second_factor


def test_staff_create_with_a_totp_secret_on_the_command_line(app, client):
    secret = pyotp.random_base32()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["staff", "create", "scripted@example.jp", "--role", "operator",
                                 "--password", "harbour-crane-evening-2026", "--totp-secret", secret.lower()])
    assert result.exit_code == 0, result.output
    assert "second factor provisioned" in result.output
    staff = db.session.scalars(select(Staff).where(Staff.email == "scripted@example.jp")).one()
    assert staff.totp_secret == secret and staff.has_second_factor
    response = sign_in(client, "scripted@example.jp", "harbour-crane-evening-2026", secret=secret)
    assert response.status_code == 302 and response.headers["Location"] == "/"

    bad = runner.invoke(args=["staff", "create", "bad@example.jp", "--role", "operator",
                              "--password", "harbour-crane-evening-2026", "--totp-secret", "NOT-BASE32-0189"])
    assert bad.exit_code != 0 and "Base32" in bad.output
    short = runner.invoke(args=["staff", "create", "short@example.jp", "--role", "operator",
                                "--password", "harbour-crane-evening-2026", "--totp-secret", "JBSWY3DPEHPK3PXP"])
    assert short.exit_code != 0 and "128ビット" in short.output
    assert db.session.scalars(select(Staff).where(Staff.email.in_(["bad@example.jp", "short@example.jp"]))).all() == []

    plain = runner.invoke(args=["staff", "create", "enrols@example.jp", "--role", "operator",
                                "--password", "harbour-crane-evening-2026"])
    assert plain.exit_code == 0 and "enrols a second factor at first sign-in" in plain.output
    other = app.test_client()
    assert sign_in(other, "enrols@example.jp", "harbour-crane-evening-2026").headers["Location"] == "/login/enrol"


def test_demo_logins_print_each_members_current_code(app):
    result = app.test_cli_runner().invoke(args=["demo-logins"])
    assert result.exit_code == 0
    for email, _name, _roles, password in DEMO_STAFF:
        line = next(line for line in result.output.splitlines() if email in line)
        totp = pyotp.TOTP(DEMO_TOTP_SECRETS[email])
        now = totp.timecode(clock.now())
        printed = re.search(r"確認コード (\d{6})", line).group(1)
        assert password in line and printed in {totp.generate_otp(now), totp.generate_otp(now - 1)}


def test_codes_count_against_the_accounts_sign_in_throttle(app, redis_url):
    """Passwords and codes tried for one account share its limit (in Redis); the refusal is the code page."""
    from redis import Redis

    from tests.test_security import _throttled_app

    Redis.from_url(redis_url).flushdb()
    with factories.committed(app):
        email = factories.staff("operator").email
    client = _throttled_app(app, redis_url, account="3 per minute").test_client()
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": email, "password": factories.PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/login/code"
    wrong = "000000" if factories.totp_code() != "000000" else "999999"
    assert [_code(client, wrong).status_code for _ in range(2)] == [200, 200]
    throttled = _code(client, factories.totp_code())
    assert throttled.status_code == 429
    body = throttled.get_data(as_text=True)
    assert "ログインの試行回数が多すぎます" in body and 'name="code"' in body


def test_the_same_code_at_the_same_moment_signs_in_once(app):
    """Two sign-ins of one member with one code, released together on real connections: one is accepted."""
    with factories.committed(app):
        staff_id = factories.staff("operator").id
    code = factories.totp_code()
    outcomes = factories.race(app, {name: (staff_id, lambda actor: second_factor.verify_sign_in_code(actor, code))
                                    for name in ("first", "second")})
    assert sorted(outcomes.values()) == sorted(["totp", second_factor.USED_CODE]), outcomes


def test_the_code_step_without_its_form_token_is_refused(client):
    staff = factories.staff("operator")
    db.session.commit()
    _password(client, staff)
    response = client.post("/login/code", data={"code": factories.totp_code()})
    assert response.status_code == 400
    assert not _signed_in(client)
    db.session.refresh(staff)
    assert staff.totp_last_step is None  # the code was not spent
