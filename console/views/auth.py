"""Staff sign-in and sign-out: /login (e-mail and password), then /login/code (the second factor) or, for a
member without one, /login/enrol (TOTP enrolment and recovery codes); /logout.

Between the password and the second factor the session holds only a pending sign-in (who, since when,
where to go next); Flask-Login's login_user happens in one place, complete_staff_sign_in."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from .. import clock, normalise
from ..extensions import db
from ..models import SessionEndReason, Staff
from ..services import DomainError, second_factor, staff_sessions
from ..services.audit import client_address
from ..services.staff import authenticate, complete_sign_in
from ..web import ENDED_KEY, SESSION_KEY
from .base import current_staff_session

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = StringField("メールアドレス", validators=[DataRequired("メールアドレスを入力してください。")])
    password = PasswordField("パスワード", validators=[DataRequired("パスワードを入力してください。")])


class CodeForm(FlaskForm):
    """The second factor: a code from the authenticator app, or a recovery code."""

    code = StringField("確認コード", validators=[DataRequired("確認コードを入力してください。")])


# The pending sign-in between the password and the second factor, in the (signed) session cookie.
PENDING = "pending_sign_in"
# How long the second step may wait after the password: long enough to install an authenticator app.
PENDING_SECONDS = 10 * 60
PENDING_GONE = "ログインの手続きが中断されたか、時間がたちました。もう一度メールアドレスとパスワードを入力してください。"


def _safe_next(target: str | None) -> str:
    # Only paths on this site: never an absolute or scheme-relative URL (open redirect).
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("admin.index")


def tried_email() -> str:
    """The throttling key per account: the e-mail address being tried, however it was typed; at the
    second step, the pending sign-in's. Passwords and codes count against the same limit."""
    if request.endpoint == "auth.login":
        return "login:" + normalise.email_key(request.form.get("email", ""))
    return "login:" + (session.get(PENDING) or {}).get("email", "")


def _pending_token(staff: Staff) -> str:
    """Binds a pending sign-in to the member's password and second factor as they were: a password set,
    a reset or an enrolment meanwhile ends it."""
    state = f"{staff.id}:{staff.password_hash}:{staff.totp_enrolled_at}"
    return hashlib.sha256(state.encode()).hexdigest()[:32]


def _pending_staff() -> Staff | None:
    """The member whose password was accepted in this session, while the sign-in is still valid: not too
    old, and the member's sessions not ended meanwhile (lock, sign-out everywhere, role change)."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    staff = db.session.get(Staff, pending.get("staff_id") or 0)
    if (staff is None or _pending_token(staff) != pending.get("token") or not staff.is_active
            or clock.now().timestamp() - pending.get("at", 0) > PENDING_SECONDS):
        session.pop(PENDING, None)
        return None
    return staff


def _pending_gone():
    flash(PENDING_GONE, "warning")
    return redirect(url_for("auth.login"))


def complete_staff_sign_in(staff: Staff, second_factor_used: str) -> str:
    """The one place a staff sign-in completes (a browser becomes signed in), after the password and the
    second factor: the sign-in is recorded and audited with its session record, the session starts
    afresh and Flask-Login signs the member in.
    Returns where to go next (the page first asked for)."""
    next_page = _safe_next((session.get(PENDING) or {}).get("next"))
    complete_sign_in(staff, second_factor_used)
    # A fresh session on sign-in: nothing chosen before it survives (session fixation); a server-side
    # sign-in record whose random key the cookie carries (staff_sessions); Flask-Login's signed-in state.
    session.clear()
    record, key = staff_sessions.start_session(staff, client_addr=client_address(),
                                               user_agent=request.user_agent.string, second_factor=second_factor_used)
    session[SESSION_KEY] = key
    login_user(staff, remember=False)
    g.staff_session = record
    return next_page


# What the sign-in page says to a browser whose sign-in ended while it was away.
SIGNED_OUT_MESSAGES = {
    SessionEndReason.SIGNED_OUT: "この端末はログアウトしています。続けるには、もう一度ログインしてください。",
    SessionEndReason.IDLE: "一定時間操作がなかったため、ログアウトしました。",
    SessionEndReason.ENDED_BY_SELF: "この端末のログインは、ご自分が別の端末から終了しました。続けるには、もう一度ログインしてください。",
    SessionEndReason.ENDED_BY_ADMIN: "この端末のログインは、管理者が終了しました。心当たりがないときは、管理者にお問い合わせください。",
    SessionEndReason.PASSWORD_CHANGED: "パスワードが変更されたため、この端末はログアウトしました。新しいパスワードでログインしてください。",
    SessionEndReason.PASSWORD_SET: "管理者がパスワードを設定し直したため、この端末はログアウトしました。新しいパスワードは管理者にお問い合わせください。",
    SessionEndReason.ROLES_CHANGED: "権限が変更されたため、この端末はログアウトしました。もう一度ログインしてください。",
    SessionEndReason.DISABLED: "アカウントが無効にされたため、ログアウトしました。管理者にお問い合わせください。",
    SessionEndReason.LOCKED: "アカウントがロックされたため、ログアウトしました。管理者にお問い合わせください。",
    SessionEndReason.SECOND_FACTOR_RESET: "二要素認証がリセットされたため、この端末はログアウトしました。もう一度ログインして、登録し直してください。",
}


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign-in page; five wrong passwords in a row lock the staff account."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    ended = session.pop(ENDED_KEY, None)
    if ended:
        flash(SIGNED_OUT_MESSAGES[SessionEndReason(ended)], "warning")
    if form.validate_on_submit():
        try:
            staff = authenticate(form.email.data, form.password.data)
        except DomainError as exc:
            # The wrong-password count and the audit entry stay: the page answers 200, so the request commits.
            flash(exc.message, "error")
        else:
            # Nothing chosen before the password survives (session fixation); the second step comes next.
            session.clear()
            session[PENDING] = {"staff_id": staff.id, "token": _pending_token(staff), "email": staff.email,
                                "at": clock.now().timestamp(), "next": _safe_next(request.args.get("next"))}
            return redirect(url_for("auth.second_factor" if staff.has_second_factor else "auth.enrol"))
    return render_template("auth/login.html", form=form)


@bp.route("/login/code", methods=["GET", "POST"], endpoint="second_factor")
def second_factor_step():
    """The sign-in's second step: a code from the authenticator app or a recovery code (field `code`)."""
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    staff = _pending_staff()
    if staff is None:
        return _pending_gone()
    if not staff.has_second_factor:
        return redirect(url_for("auth.enrol"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            used = second_factor.verify_sign_in_code(staff, form.code.data)
        except second_factor.CodeAttemptsExhausted as exc:
            # The lock, its audit entry and its mail stay: a redirect commits the request.
            session.pop(PENDING, None)
            flash(exc.message, "error")
            return redirect(url_for("auth.login"))
        except DomainError as exc:
            # The wrong-code count and the audit entry stay: the page answers 200, so the request commits.
            flash(exc.message, "error")
        else:
            next_page = complete_staff_sign_in(staff, used)
            if used == "recovery_code":
                left = second_factor.unused_recovery_codes(staff)
                flash(f"リカバリーコードを使用しました（残り{left}個）。使ったコードは二度と使えません。"
                      "残りが少ないときは、管理者に二要素認証のリセットを依頼して登録し直してください。", "warning")
            return redirect(next_page)
    return render_template("auth/second_factor.html", form=form, throttled=False)


@bp.route("/login/enrol", methods=["GET", "POST"])
def enrol():
    """First sign-in without a second factor: register an authenticator app (QR code or the secret typed
    in), prove it with a code, then see the ten recovery codes once. No console page opens before."""
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    staff = _pending_staff()
    if staff is None:
        return _pending_gone()
    if staff.has_second_factor:
        return redirect(url_for("auth.second_factor"))
    secret = second_factor.begin_enrolment(staff)
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = second_factor.confirm_enrolment(staff, form.code.data)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            next_page = complete_staff_sign_in(staff, "enrolment")
            # Shown once, in this answer only: the database keeps their hashes.
            return render_template("auth/recovery_codes.html", codes=codes, next_page=next_page)
    qr = Markup(second_factor.qr_code_svg(second_factor.provisioning_uri(staff, secret)))  # segno's own markup
    spaced = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template("auth/enrol.html", form=form, qr=qr, secret=spaced, staff=staff, throttled=False)


def throttled_page():
    """The page a throttled sign-in POST gets (429): the same step again, with the throttling message."""
    if request.endpoint == "auth.login":
        return render_template("auth/login.html", form=LoginForm(), throttled=True)
    return render_template("auth/second_factor.html", form=CodeForm(), throttled=True)


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out (POST only, so another site cannot sign a staff member out).

    This browser's sign-in record ends, so a copy of its cookie is worthless too; the member's other
    browsers stay signed in (「サインイン中の端末」 ends them).
    """
    if current_user.is_authenticated:
        staff_sessions.sign_out(current_user, current_staff_session())
    logout_user()
    session.clear()
    flash("ログアウトしました。", "info")
    return redirect(url_for("auth.login"))
