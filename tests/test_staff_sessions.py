"""Staff sign-ins as server-side records (issue 16), through the real forms: each member sees their
sign-ins and ends any of them, an admin signs a member out everywhere, a password change ends the other
browsers, the idle timeout ends the record, and an ended record is never live again."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import and_, or_, select

from console import clock
from console.extensions import db
from console.models import AuditEvent, SessionEndReason, Staff, StaffSession
from console.services import passwords
from console.services.staff_sessions import describe_device
from tests import factories
from tests.conftest import csrf_token, sign_in

WINDOWS_EDGE = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86")
IPHONE_SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/18.1 Mobile/15E148 Safari/604.1")
MAC_FIREFOX = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0"
NEW_PASSWORD = "harbour-crane-evening-2026"


def browser(app, user_agent: str, address: str):
    """A test client that is one browser on one PC: its own cookies, User-Agent and address."""
    client = app.test_client()
    client.environ_base.update(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=address)
    return client


def _records(member: Staff) -> list[StaffSession]:
    db.session.expire_all()
    return list(db.session.scalars(select(StaffSession).where(StaffSession.staff_id == member.id)
                                   .order_by(StaffSession.id)))


def _actions(member: Staff | None = None) -> list[str]:
    """Audit actions in order: all of them, or those about a member and their sign-ins."""
    query = select(AuditEvent.action).order_by(AuditEvent.id)
    if member is not None:
        sessions = [str(r.id) for r in _records(member)]
        query = query.where(or_(
            and_(AuditEvent.target_type == "staff_session", AuditEvent.target_id.in_(sessions)),
            and_(AuditEvent.target_type == "staff", AuditEvent.target_id == str(member.id))))
    return list(db.session.scalars(query))


def _sign_out_page_message(client, response) -> str:
    """Follow a refused request to the sign-in page and return what it says."""
    assert response.status_code == 302 and response.headers["Location"].startswith("/login"), response.status_code
    return client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.fixture()
def member(database):
    staff = factories.staff("operator", name="端末 確認")
    db.session.commit()
    return staff


@pytest.fixture()
def desk(app, member):
    """The member signed in at the desk PC (Windows, Edge)."""
    client = browser(app, WINDOWS_EDGE, "192.0.2.10")
    assert sign_in(client, member.email, factories.PASSWORD).status_code == 302
    return client


@pytest.fixture()
def phone(app, member):
    """The same member signed in on an iPhone."""
    client = browser(app, IPHONE_SAFARI, "198.51.100.20")
    assert sign_in(client, member.email, factories.PASSWORD).status_code == 302
    return client


def test_sign_in_starts_a_record_whose_key_only_the_cookie_holds(desk, member):
    (record,) = _records(member)
    assert record.ended_at is None and record.client_addr == "192.0.2.10"
    assert record.device == "Windows パソコン の Edge" and record.user_agent == WINDOWS_EDGE
    with desk.session_transaction() as session:
        key = session["staff_session"]
    assert record.key_digest == hashlib.sha256(key.encode()).hexdigest() and key not in record.key_digest
    # The sign-in is audited once, as the sign-in, naming its record.
    login = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "staff.login",
                                                        AuditEvent.staff_id == member.id)).one()
    assert (login.staff_id, login.target_type, login.target_id) == (member.id, "staff_session", str(record.id))


def test_own_sessions_are_listed_with_this_one_marked(desk, phone, member):
    page = desk.get("/me/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "サインイン中の端末" in html
    assert "Windows パソコン の Edge" in html and "iPhone の Safari" in html
    assert "192.0.2.10" in html and "198.51.100.20" in html
    this_row = re.search(r'<tr[^>]*data-testid="this-session".*?</tr>', html, re.S).group(0)
    assert "Windows パソコン の Edge" in this_row and "この端末" in this_row
    assert "他の端末をすべてサインアウト" in html
    # The member's name in the menu bar leads here.
    assert re.search(r'<a[^>]*href="/me/"[^>]*data-testid="signed-in-as"', html)
    # From the phone, the phone is this one.
    phone_row = re.search(r'<tr[^>]*data-testid="this-session".*?</tr>',
                          phone.get("/me/").get_data(as_text=True), re.S).group(0)
    assert "iPhone の Safari" in phone_row


def test_ending_one_sign_in_signs_that_browser_out_at_its_next_request(app, desk, phone, member):
    laptop = browser(app, MAC_FIREFOX, "203.0.113.30")
    assert sign_in(laptop, member.email, factories.PASSWORD).status_code == 302
    phone_record = next(r for r in _records(member) if r.device == "iPhone の Safari")
    response = desk.post(f"/me/sessions/{phone_record.id}/end", data={"csrf_token": csrf_token(desk, "/me/")})
    assert response.status_code == 303
    assert "その端末をサインアウトしました。" in desk.get("/me/").get_data(as_text=True)

    message = _sign_out_page_message(phone, phone.get("/lookup/"))
    assert "この端末のログインは、ご自分が別の端末から終了しました。" in message
    assert phone.get("/").status_code == 302  # and stays signed out
    assert desk.get("/").status_code == 200 and laptop.get("/").status_code == 200
    records = {r.device: r for r in _records(member)}
    ended = records["iPhone の Safari"]
    assert ended.end_reason == SessionEndReason.ENDED_BY_SELF and ended.ended_by_id == member.id
    assert records["Mac の Firefox"].ended_at is None and records["Windows パソコン の Edge"].ended_at is None
    assert _actions(member)[-1] == "staff.session_ended.ended_by_self"


def test_this_browser_and_other_members_sign_ins_cannot_be_ended_here(app, desk, member):
    other = factories.staff("operator")
    db.session.commit()
    other_client = browser(app, MAC_FIREFOX, "203.0.113.40")
    sign_in(other_client, other.email, factories.PASSWORD)
    (others,) = _records(other)
    (mine,) = _records(member)
    before = _actions()
    response = desk.post(f"/me/sessions/{others.id}/end", data={"csrf_token": csrf_token(desk, "/me/")})
    assert "その端末は見つかりません。" in desk.get(response.headers["Location"]).get_data(as_text=True)
    response = desk.post(f"/me/sessions/{mine.id}/end", data={"csrf_token": csrf_token(desk, "/me/")})
    assert "「ログアウト」で終了してください" in desk.get(response.headers["Location"]).get_data(as_text=True)
    assert _actions() == before
    assert other_client.get("/").status_code == 200 and desk.get("/").status_code == 200


def test_end_all_other_sign_ins(app, desk, phone, member):
    laptop = browser(app, MAC_FIREFOX, "203.0.113.30")
    sign_in(laptop, member.email, factories.PASSWORD)
    response = desk.post("/me/sessions/end-others", data={"csrf_token": csrf_token(desk, "/me/")})
    assert response.status_code == 303
    assert "他の端末 2台をサインアウトしました。" in desk.get("/me/").get_data(as_text=True)
    for client in (phone, laptop):
        assert "別の端末から終了しました" in _sign_out_page_message(client, client.get("/"))
    assert desk.get("/").status_code == 200
    live = [r for r in _records(member) if r.ended_at is None]
    assert [r.device for r in live] == ["Windows パソコン の Edge"]
    # Nothing left to end: said, not an error.
    desk.post("/me/sessions/end-others", data={"csrf_token": csrf_token(desk, "/me/")})
    assert "他にサインイン中の端末はありません。" in desk.get("/me/").get_data(as_text=True)


def test_an_ended_record_cannot_be_revived_by_replaying_the_old_cookie(desk, phone, member):
    old_cookie = phone.get_cookie("console_session").value
    desk.post("/me/sessions/end-others", data={"csrf_token": csrf_token(desk, "/me/")})
    assert phone.get("/").status_code == 302
    for _ in range(2):  # the sign-in page has said why once; the copy stays worthless afterwards too
        phone.set_cookie("console_session", old_cookie)
        assert phone.get("/").status_code == 302
        assert phone.get("/me/").status_code == 302
    # Signing out ends the record too: a copy of a signed-out cookie is as worthless.
    desk_cookie = desk.get_cookie("console_session").value
    desk.post("/logout", data={"csrf_token": csrf_token(desk, "/")})
    desk.set_cookie("console_session", desk_cookie)
    assert desk.get("/").status_code == 302
    assert all(r.ended_at is not None for r in _records(member))
    assert {r.end_reason for r in _records(member)} == {SessionEndReason.ENDED_BY_SELF, SessionEndReason.SIGNED_OUT}


def test_signing_out_ends_only_this_browsers_sign_in(desk, phone, member):
    desk.post("/logout", data={"csrf_token": csrf_token(desk, "/")})
    assert desk.get("/").status_code == 302 and phone.get("/").status_code == 200
    logout = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "staff.logout",
                                                         AuditEvent.staff_id == member.id)).one()
    assert logout.target_type == "staff_session" and logout.staff_id == member.id


def test_an_admin_ends_all_of_a_members_sign_ins_with_a_reason(app, client, login_as, desk, phone, member):
    admin = login_as("admin")
    listing = client.get("/staff/").get_data(as_text=True)
    assert f'href="/staff/sessions/{member.id}">2台</a>' in listing
    page = client.get(f"/staff/sessions/{member.id}")
    assert page.status_code == 200
    assert "iPhone の Safari" in page.get_data(as_text=True)
    token = csrf_token(client, f"/staff/sessions/{member.id}")
    # Without a reason: refused, nothing ends.
    response = client.post(f"/staff/sessions/{member.id}", data={"csrf_token": token, "note": "  "})
    assert response.status_code == 200 and "理由を入力してください。" in response.get_data(as_text=True)
    assert desk.get("/").status_code == 200
    response = client.post(f"/staff/sessions/{member.id}", data={"csrf_token": token, "note": "退職のため"})
    assert response.status_code == 303
    assert "端末 2台をサインアウトしました" in client.get(response.headers["Location"]).get_data(as_text=True)
    for browser_client in (desk, phone):
        assert "管理者が終了しました" in _sign_out_page_message(browser_client, browser_client.get("/"))
    records = _records(member)
    assert {(r.end_reason, r.ended_by_id) for r in records} == {(SessionEndReason.ENDED_BY_ADMIN, admin.id)}
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "staff.session_ended.ended_by_admin",
                                                         AuditEvent.staff_id == admin.id)).all()
    assert len(events) == 2 and {e.reason for e in events} == {"退職のため"} and {e.staff_id for e in events} == {admin.id}
    assert {e.detail["member"] for e in events} == {member.email}
    # The member can sign in again (ending sign-ins is not disabling the account).
    assert sign_in(desk, member.email, factories.PASSWORD).status_code == 302


def test_an_admin_ends_nothing_when_nothing_is_signed_in_or_for_themselves(client, login_as, member):
    admin = login_as("admin")
    token = csrf_token(client, f"/staff/sessions/{member.id}")
    response = client.post(f"/staff/sessions/{member.id}", data={"csrf_token": token, "note": "念のため"})
    assert "サインイン中の端末はありません。" in response.get_data(as_text=True)
    response = client.post(f"/staff/sessions/{admin.id}", data={"csrf_token": token, "note": "念のため"})
    assert "「サインイン中の端末」のページで終了してください" in response.get_data(as_text=True)
    assert client.get("/").status_code == 200


def test_an_operator_cannot_end_another_members_sign_ins(app, client, login_as, desk, member):
    login_as("operator", "supervisor")
    response = client.post(f"/staff/sessions/{member.id}", data={"csrf_token": csrf_token(client, "/"), "note": "x"})
    assert response.status_code == 403
    assert desk.get("/").status_code == 200


def test_disabling_a_member_ends_their_sign_ins(client, login_as, desk, member):
    login_as("admin")
    token = csrf_token(client, f"/staff/edit/?id={member.id}")
    response = client.post(f"/staff/edit/?id={member.id}", data={"name": member.name, "roles": ["operator"],
                                                                 "csrf_token": token})
    assert response.status_code == 302
    assert "アカウントが無効にされたため" in _sign_out_page_message(desk, desk.get("/"))
    (record,) = _records(member)
    assert record.end_reason == SessionEndReason.DISABLED
    assert "staff.session_ended.disabled" in _actions(member)


def test_an_admins_new_password_or_the_system_disabling_ends_every_sign_in(desk, phone, member):
    from console.services import staff as staff_service

    admin = factories.staff("admin")
    staff_service.set_password(admin, member, NEW_PASSWORD)
    db.session.commit()
    assert {(r.end_reason, r.ended_by_id) for r in _records(member)} == {(SessionEndReason.PASSWORD_SET, admin.id)}
    assert "管理者がパスワードを設定し直したため" in _sign_out_page_message(desk, desk.get("/"))
    assert sign_in(phone, member.email, NEW_PASSWORD).status_code == 302
    # The command line (actor None) may disable a member too; their sign-ins end with it.
    staff_service.update_staff(None, db.session.get(Staff, member.id), name=member.name, roles=["operator"], active=False)
    db.session.commit()
    assert all(r.ended_at is not None for r in _records(member))
    assert "アカウントが無効にされたため" in _sign_out_page_message(phone, phone.get("/"))


def _change_password(client, current: str, new: str, confirm: str | None = None):
    token = csrf_token(client, "/me/password")
    return client.post("/me/password", data={"csrf_token": token, "current_password": current, "password": new,
                                             "password_confirm": new if confirm is None else confirm})


def test_a_password_change_needs_the_current_password(desk, phone, member):
    page = desk.get("/me/password")
    assert page.status_code == 200 and "現在のパスワード" in page.get_data(as_text=True)
    before = (member.password_hash, _actions())
    response = _change_password(desk, "not-my-password-at-all", NEW_PASSWORD)
    assert response.status_code == 200 and "現在のパスワードが正しくありません。" in response.get_data(as_text=True)
    response = _change_password(desk, factories.PASSWORD, "password1234")
    assert "よく使われる" in response.get_data(as_text=True) or "推測" in response.get_data(as_text=True)
    response = _change_password(desk, factories.PASSWORD, NEW_PASSWORD, confirm=NEW_PASSWORD + "x")
    assert "確認のために入力したパスワードが一致しません。" in response.get_data(as_text=True)
    db.session.expire_all()
    assert (db.session.get(Staff, member.id).password_hash, _actions()) == before
    assert phone.get("/").status_code == 200 and desk.get("/").status_code == 200


def test_a_password_change_ends_the_other_sign_ins(app, desk, phone, member):
    response = _change_password(desk, factories.PASSWORD, NEW_PASSWORD)
    assert response.status_code == 303
    assert "パスワードを変更しました。他の端末 1台はサインアウトしました。" in desk.get("/me/").get_data(as_text=True)
    assert desk.get("/").status_code == 200
    assert "パスワードが変更されたため" in _sign_out_page_message(phone, phone.get("/"))
    db.session.expire_all()
    assert passwords.verify_password(db.session.get(Staff, member.id).password_hash, NEW_PASSWORD)[0]
    actions = _actions(member)
    assert actions[-2:] == ["staff.password_changed", "staff.session_ended.password_changed"]
    # The old password no longer signs in; the new one does.
    again = browser(app, IPHONE_SAFARI, "198.51.100.20")
    assert sign_in(again, member.email, factories.PASSWORD).status_code == 200
    assert sign_in(again, member.email, NEW_PASSWORD).status_code == 302


def test_idle_timeout_ends_the_record(app, desk, phone, member):
    record = next(r for r in _records(member) if r.device == "iPhone の Safari")
    record.last_seen_at = clock.now() - app.config["IDLE_TIMEOUT"] - timedelta(minutes=1)
    db.session.commit()
    assert "一定時間操作がなかったため、ログアウトしました。" in _sign_out_page_message(phone, phone.get("/"))
    db.session.refresh(record)
    assert record.end_reason == SessionEndReason.IDLE and record.ended_by_id is None
    assert "staff.session_ended.idle" in _actions(member)
    assert desk.get("/").status_code == 200  # the desk PC was in use


def test_last_seen_is_written_at_most_once_a_minute(desk, member):
    (record,) = _records(member)
    first = record.last_seen_at
    assert desk.get("/").status_code == 200
    (record,) = _records(member)
    assert record.last_seen_at == first  # within the minute: no write
    record.last_seen_at = first - timedelta(minutes=2)
    db.session.commit()
    assert desk.get("/").status_code == 200
    (record,) = _records(member)
    assert record.last_seen_at > first - timedelta(seconds=1)


def test_a_lock_ends_the_members_sign_ins(app, desk, member):
    stranger = browser(app, MAC_FIREFOX, "203.0.113.99")
    for _ in range(app.config["STAFF_LOCK_THRESHOLD"]):
        sign_in(stranger, member.email, "wrong-password-guess")
    assert "アカウントがロックされたため" in _sign_out_page_message(desk, desk.get("/"))
    (record,) = _records(member)
    assert record.end_reason == SessionEndReason.LOCKED


@pytest.mark.parametrize(("user_agent", "expected"), [
    (WINDOWS_EDGE, "Windows パソコン の Edge"),
    (IPHONE_SAFARI, "iPhone の Safari"),
    (MAC_FIREFOX, "Mac の Firefox"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
     "Windows パソコン の Chrome"),
    ("Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 "
     "Chrome/122.0.0.0 Mobile Safari/537.36", "Android スマートフォン の Samsung Internet"),
    ("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0 "
     "Mobile/15E148 Safari/604.1", "iPad の Chrome"),
    ("Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko", "Windows パソコン の Internet Explorer"),
    ("Werkzeug/3.1", "不明な端末"),
    ("", "不明な端末"),
    (None, "不明な端末"),
])
def test_the_device_is_described_in_plain_words(user_agent, expected):
    assert describe_device(user_agent) == expected
