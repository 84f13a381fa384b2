"""Staff sign-in: the real form, lockout after five wrong passwords, idle timeout, CSRF, sessions."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy

from sqlalchemy import func, select

from console import clock
from console.extensions import db
from console.models import AuditEvent, StaffSession
from console.services.staff import SIGN_IN_REFUSED
from tests import factories
from tests.conftest import csrf_token, outbox_files, sign_in


def test_sign_in_with_messy_email_and_sign_out(client):
    staff = factories.staff("operator", email="yamada@example.jp")
    db.session.commit()
    response = sign_in(client, "  YAMADA@Example.JP ", factories.PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert staff.name in home.get_data(as_text=True)
    with client.session_transaction() as session:
        old_cookie_session = dict(session)
    response = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert client.get("/").status_code == 302
    # A copy of the signed-in cookie taken before sign-out no longer works.
    with client.session_transaction() as session:
        session.update(old_cookie_session)
    assert client.get("/").status_code == 302


def test_wrong_password_shows_japanese_message_and_counts(client):
    staff = factories.staff("operator")
    db.session.commit()
    response = sign_in(client, staff.email, "wrong-password")
    assert response.status_code == 200
    assert "メールアドレスまたはパスワードが正しくありません。" in response.get_data(as_text=True)
    db.session.refresh(staff)
    assert staff.failed_logins == 1
    assert client.get("/").status_code == 302


def test_unknown_email_gives_the_same_message(client):
    response = sign_in(client, "nobody@example.jp", "whatever-password")
    assert "メールアドレスまたはパスワードが正しくありません。" in response.get_data(as_text=True)


def test_five_wrong_passwords_lock_until_an_admin_unlocks(client, login_as):
    staff = factories.staff("operator")
    db.session.commit()
    for _ in range(4):
        sign_in(client, staff.email, "wrong-password")
    response = sign_in(client, staff.email, "wrong-password")
    # The form says no more than for any other refusal (no enumeration); the member learns of it by mail.
    assert SIGN_IN_REFUSED in response.get_data(as_text=True)
    db.session.refresh(staff)
    assert staff.is_locked
    mails = [message_from_bytes(f.read_bytes(), policy=policy.default) for f in outbox_files(client.application)]
    locked = [m for m in mails if m["To"] == staff.email]
    assert len(locked) == 1 and "ロック" in locked[0]["Subject"]
    # Even the right password is refused now, with the same words.
    response = sign_in(client, staff.email, factories.PASSWORD)
    assert SIGN_IN_REFUSED in response.get_data(as_text=True)

    login_as("admin")
    token = csrf_token(client, "/staff/")
    response = client.post(
        "/staff/action/", data={"action": "unlock", "rowid": [str(staff.id)], "csrf_token": token}
    )
    assert response.status_code == 302
    db.session.refresh(staff)
    assert not staff.is_locked and staff.failed_logins == 0
    unlocks = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "staff.unlock")).all()
    assert [e.target_id for e in unlocks] == [str(staff.id)]


def test_login_post_without_csrf_token_is_refused(client):
    staff = factories.staff("operator")
    db.session.commit()
    response = client.post("/login", data={"email": staff.email, "password": factories.PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_no_remember_cookie_and_safe_session_cookie(client):
    staff = factories.staff("operator")
    db.session.commit()
    response = sign_in(client, staff.email, factories.PASSWORD)
    cookies = response.headers.getlist("Set-Cookie")
    assert not any(c.startswith("remember_token") for c in cookies)
    session_cookie = next(c for c in cookies if c.startswith("console_session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie


def test_idle_timeout_signs_out(client, app):
    staff = factories.staff("operator")
    db.session.commit()
    sign_in(client, staff.email, factories.PASSWORD)
    assert client.get("/").status_code == 200
    # The idle timeout counts on the server, from the sign-in record's last request.
    record = db.session.scalars(select(StaffSession).where(StaffSession.staff_id == staff.id)).one()
    record.last_seen_at = clock.now() - app.config["IDLE_TIMEOUT"] - timedelta(minutes=1)
    db.session.commit()
    response = client.get("/")
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert "一定時間操作がなかったため" in page.get_data(as_text=True)


def test_session_ends_when_roles_change(client, login_as):
    admin = login_as("admin")
    other = factories.staff("operator")
    db.session.commit()
    # A second browser signed in as the operator.
    from console import create_app  # noqa: F401 - same app, separate client

    other_client = client.application.test_client()
    sign_in(other_client, other.email, factories.PASSWORD)
    assert other_client.get("/").status_code == 200
    token = csrf_token(client, f"/staff/edit/?id={other.id}")
    response = client.post(
        f"/staff/edit/?id={other.id}",
        data={"name": other.name, "roles": ["supervisor"], "active": "y", "csrf_token": token},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(other)
    assert other.role_names == {"supervisor"}
    assert other_client.get("/").status_code == 302
    assert admin.has_role("admin")


def test_open_redirect_is_refused(client):
    staff = factories.staff("operator")
    db.session.commit()
    token = csrf_token(client, "/login")
    response = client.post(
        "/login?next=//evil.example.com/x",
        data={"email": staff.email, "password": factories.PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/login/code"
    response = client.post("/login/code", data={"code": factories.totp_code(),
                                                "csrf_token": csrf_token(client, "/login/code")})
    assert response.headers["Location"] == "/"


def test_sign_in_is_audited(client):
    staff = factories.staff("operator")
    db.session.commit()
    sign_in(client, staff.email, factories.PASSWORD)
    count = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "staff.login", AuditEvent.staff_id == staff.id
        )
    )
    assert count == 1
    db.session.refresh(staff)
    assert staff.last_login_at is not None
